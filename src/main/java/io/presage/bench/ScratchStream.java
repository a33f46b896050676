package io.presage.bench;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ThreadLocalRandom;

import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;

/**
 * The stream a benchmark publishes to for the raw JetStream figures: file storage like the log, one
 * replica, its own name and subject per run, deleted when closed.
 *
 * <p>Its own name so that two benchmarks running at once (by accident or on purpose) do not delete
 * each other's stream mid-run: with one shared name, the first to finish removed the stream and the
 * other failed with "503 No Responders". A run killed before it could delete its stream leaves one
 * behind; the next run removes scratch streams created longer ago than any run's publishing lasts.
 */
final class ScratchStream implements AutoCloseable {

    static final String NAME_PREFIX = "BENCH_RAW";
    static final String SUBJECT_PREFIX = "bench.raw.";
    /** A run publishes for at most 2 × 5 s; a scratch stream older than this is a dead run's. */
    static final Duration STALE_AFTER = Duration.ofMinutes(5);

    private final JetStreamManagement jsm;
    private final String name;
    private final String subject;

    private ScratchStream(JetStreamManagement jsm, String name, String subject) {
        this.jsm = jsm;
        this.name = name;
        this.subject = subject;
    }

    /** Removes dead runs' scratch streams, then creates this run's. */
    static ScratchStream create(JetStreamManagement jsm) throws IOException, JetStreamApiException {
        removeCreatedBefore(jsm, Instant.now().minus(STALE_AFTER));
        String id = Long.toString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36).toUpperCase(Locale.ROOT);
        ScratchStream s = new ScratchStream(jsm, NAME_PREFIX + "_" + id, SUBJECT_PREFIX + id);
        jsm.addStream(StreamConfiguration.builder().name(s.name).subjects(s.subject)
                .storageType(StorageType.File).replicas(1).build());
        return s;
    }

    /** Deletes the scratch streams created before {@code cutoff}; returns how many. */
    static int removeCreatedBefore(JetStreamManagement jsm, Instant cutoff) throws IOException, JetStreamApiException {
        List<StreamInfo> streams = jsm.getStreams();
        int removed = 0;
        for (StreamInfo info : streams) {
            String n = info.getConfiguration().getName();
            if (n.startsWith(NAME_PREFIX) && info.getCreateTime().toInstant().isBefore(cutoff)
                    && deleteQuietly(jsm, n)) {
                removed++;
            }
        }
        return removed;
    }

    String name() {
        return name;
    }

    String subject() {
        return subject;
    }

    @Override
    public void close() {
        deleteQuietly(jsm, name);
    }

    private static boolean deleteQuietly(JetStreamManagement jsm, String name) {
        try {
            return jsm.deleteStream(name);
        } catch (IOException | JetStreamApiException e) {
            return false; // already gone (another run's clean-up got there first) or the server went away
        }
    }
}
