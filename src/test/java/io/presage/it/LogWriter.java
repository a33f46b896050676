package io.presage.it;

import static java.nio.charset.StandardCharsets.UTF_8;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;

import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.PurgeOptions;
import io.presage.certify.Hlc;
import io.presage.log.BatchCodec;
import io.presage.log.JetStreamLog;
import io.presage.log.LogBatch;
import io.presage.log.LogConfig;
import io.presage.log.LogTxn;
import io.presage.log.LogWrite;
import io.presage.log.proto.Batch;

/**
 * Appends committed batches to the application's log in the real format, standing in for the
 * coordinator (fenced by expected last sequence, as it appends). For tests of the apply path.
 */
final class LogWriter implements AutoCloseable {
    private final JetStreamLog log;
    private final Hlc hlc = new Hlc();
    private final BatchCodec codec = new BatchCodec();
    private long batches;

    /**
     * Purges every message of {@code stream} before {@code sequence}, as a retention limit on the stream
     * would cut it, and checks that the stream now starts there.
     */
    static void purgeBefore(String natsUrl, String stream, long sequence) throws Exception {
        try (io.nats.client.Connection nc = Nats.connect(natsUrl)) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            jsm.purgeStream(stream, PurgeOptions.builder().sequence(sequence).build());
            long first = jsm.getStreamInfo(stream).getStreamState().getFirstSequence();
            if (first != sequence) {
                throw new AssertionError("the stream starts at " + first + " after the purge, not " + sequence);
            }
        }
    }

    LogWriter() {
        this(ConfigProvider.getConfig());
    }

    private LogWriter(Config config) {
        this(config.getValue("presage.nats.url", String.class), config.getValue("presage.nats.stream", String.class));
    }

    /** For a test without the application in its JVM (nodes as processes): their NATS and stream. */
    LogWriter(String natsUrl, String stream) {
        log = JetStreamLog.connect(LogConfig.defaults(natsUrl).withStreamName(stream)
                .withPublishTimeout(Duration.ofSeconds(5)));
    }

    JetStreamLog log() {
        return log;
    }

    /** A committed transaction at a fresh timestamp, as the coordinator "coordinator" writes it. */
    LogTxn txn(LogWrite... writes) {
        return txn(null, writes);
    }

    /** The same under idempotency id {@code id}. */
    LogTxn txn(String id, LogWrite... writes) {
        long ts = hlc.next();
        return new LogTxn(ts, id, false, "coordinator", List.of(writes), Map.of("coordinator", ts), List.of());
    }

    /**
     * A message holding {@code txn} that this code cannot decode: a batch format version it does not
     * know, as written by a coordinator upgraded before this node.
     */
    static byte[] newerFormat(LogTxn txn) throws Exception {
        byte[] bytes = new BatchCodec().encode(LogBatch.of("coordinator", 1, 0, 999_999, List.of(txn)));
        if (bytes[5] != BatchCodec.COMPRESSION_NONE) {
            throw new IllegalArgumentException("a transaction small enough to stay uncompressed");
        }
        Batch b = Batch.parseFrom(Arrays.copyOfRange(bytes, BatchCodec.HEADER_BYTES, bytes.length));
        byte[] v2 = b.toBuilder().setFormatVersion(BatchCodec.FORMAT_VERSION + 1).build().toByteArray();
        byte[] msg = new byte[BatchCodec.HEADER_BYTES + v2.length];
        System.arraycopy(bytes, 0, msg, 0, BatchCodec.HEADER_BYTES);
        ByteBuffer.wrap(msg, 6, 4).putInt(v2.length);
        System.arraycopy(v2, 0, msg, BatchCodec.HEADER_BYTES, v2.length);
        return msg;
    }

    static LogWrite put(String key, String json) {
        return LogWrite.put(key, json.getBytes(UTF_8));
    }

    /** Appends one message holding these transactions; returns its stream sequence. */
    synchronized long append(LogTxn... txns) throws Exception {
        return appendRaw(codec.encode(LogBatch.of("coordinator", 1, 0, ++batches, List.of(txns))));
    }

    synchronized long appendRaw(byte[] payload) throws Exception {
        long lastSeq = log.lastSequence();
        return log.append(JetStreamLog.subjectFor(0), payload, "test-" + System.nanoTime(), lastSeq)
                .get(10, TimeUnit.SECONDS).sequence();
    }

    @Override
    public void close() {
        log.close();
    }
}
