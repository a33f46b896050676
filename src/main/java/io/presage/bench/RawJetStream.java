package io.presage.bench;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.presage.log.BatchCodec;
import io.presage.log.LogBatch;
import io.presage.log.LogTxn;
import io.presage.log.LogWrite;

/**
 * The commit bench's JetStream ceilings: raw synchronous publish (one at a time, each waiting for its
 * ack) and asynchronous publish (up to {@code window} acks outstanding) on a {@link ScratchStream} of
 * its own (file storage like the log, deleted afterwards; no message ids or expected sequences, so raw
 * publishing), with one encoded single-transaction log batch as the payload.
 */
final class RawJetStream {

    private final int seconds;
    private final int window;
    private final Consumer<String> errors;

    /** Phases of {@code seconds} each (at most 5), failures of async publishes reported to {@code errors}. */
    RawJetStream(int seconds, int window, Consumer<String> errors) {
        this.seconds = Math.min(seconds, 5);
        this.window = window;
        this.errors = errors;
    }

    /** The payload: one committed two-key read-modify-write, encoded as the coordinator would. */
    static byte[] realisticPayload() {
        long ts = System.currentTimeMillis() << 16;
        LogTxn txn = new LogTxn(ts, null, false, "coordinator",
                List.of(LogWrite.put("bench-k12345", "1234".getBytes(StandardCharsets.UTF_8)),
                        LogWrite.put("bench-k67890", "5678".getBytes(StandardCharsets.UTF_8))),
                Map.of("coordinator", ts), List.of("bench-k12345", "bench-k67890"));
        return new BatchCodec().encode(LogBatch.of("coordinator", System.currentTimeMillis(), 0, 123_456, List.of(txn)));
    }

    /** Sync, then async publish throughput, each after a second of warm-up, into {@code r}. */
    void measure(Connection nats, CommitReport r) throws Exception {
        byte[] payload = realisticPayload();
        r.payloadBytes = payload.length;
        try (ScratchStream stream = ScratchStream.create(nats.jetStreamManagement())) {
            JetStream js = nats.jetStream();
            String subject = stream.subject();
            syncPublish(js, subject, payload, 1); // warm-up
            CpuClock cpu = CpuClock.now();
            LatencyLog sync = new LatencyLog();
            r.syncTps = syncPublish(js, subject, payload, seconds, sync) / (double) seconds;
            long[] sl = LatencyLog.sortedUnion(List.of(sync));
            r.syncP50 = LatencyLog.percentileMillis(sl, 0.50);
            r.syncP99 = LatencyLog.percentileMillis(sl, 0.99);
            System.out.printf(Locale.ROOT, "  JetStream sync publish (%d s, %d-byte payload, file storage, wait for each ack): "
                            + "%,.0f msg/s, p50 %.3f ms, p99 %.3f ms; machine %s%n",
                    seconds, payload.length, r.syncTps, r.syncP50, r.syncP99, CommitReport.cores(cpu.machineCores()));

            asyncPublish(js, subject, payload, 1); // warm-up
            cpu = CpuClock.now();
            r.asyncTps = asyncPublish(js, subject, payload, seconds) / (double) seconds;
            System.out.printf(Locale.ROOT, "  JetStream async publish (%d s, up to %d acks outstanding): %,.0f msg/s; machine %s%n",
                    seconds, window, r.asyncTps, CommitReport.cores(cpu.machineCores()));
        }
    }

    private static long syncPublish(JetStream js, String subject, byte[] payload, int seconds) throws Exception {
        return syncPublish(js, subject, payload, seconds, new LatencyLog());
    }

    private static long syncPublish(JetStream js, String subject, byte[] payload, int seconds, LatencyLog lat)
            throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        long n = 0;
        long t0 = System.nanoTime();
        while (t0 < end) {
            js.publish(subject, payload);
            long t1 = System.nanoTime();
            lat.add(t1 - t0);
            n++;
            t0 = t1;
        }
        return n;
    }

    /** Acks received within {@code seconds}, with up to {@code jsWindow} unacknowledged at any time. */
    private long asyncPublish(JetStream js, String subject, byte[] payload, int seconds) throws InterruptedException {
        Semaphore permits = new Semaphore(window);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        AtomicLong acked = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        while (System.nanoTime() < end) {
            if (!permits.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                continue;
            }
            js.publishAsync(subject, payload).whenComplete((ack, err) -> {
                if (err == null && System.nanoTime() <= end) {
                    acked.incrementAndGet();
                } else if (err != null) {
                    failed.incrementAndGet();
                }
                permits.release();
            });
        }
        if (!permits.tryAcquire(window, 30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("JetStream async publish: acks still outstanding 30 s after the end");
        }
        if (failed.get() > 0) {
            errors.accept("JetStream async publish: " + failed.get() + " publishes failed");
        }
        return acked.get();
    }
}
