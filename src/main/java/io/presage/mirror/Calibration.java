package io.presage.mirror;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;

import io.presage.apply.ApplyHook.AppliedWrite;

/**
 * Measures whether confidence is calibrated: a sample of local reads is checked afterwards, exactly,
 * against the log.
 *
 * <p>A sampled read returned version {@code v} of key {@code k} at wall time {@code t}. It was
 * <b>not current</b> iff the log holds a write of {@code k} committed (JetStream message timestamp) at
 * or before {@code t} with a version above {@code v}: the primary had already moved on. It is
 * <b>current</b> once the mirror has applied everything committed up to {@code t + margin} without
 * such a write (JetStream timestamps grow along the stream; the margin absorbs clock differences
 * between this node and the log). Results are counted per confidence decile.
 *
 * <p>Readers only enqueue (lock-free); the applier thread does all the bookkeeping. A sample reaches
 * it a moment after its read (a read that missed the cache waited for the store first), and a write
 * applied in between, committed before the read, proves it stale too: so the writes applied in the
 * last {@value #RECENT_MILLIS} ms (at most {@value #MAX_RECENT}) are kept while sampling is on, and each
 * sample is checked against them when it arrives.
 * Checked only against later writes, such reads counted as current.
 */
public final class Calibration {
    /**
     * A sampled read. {@code writesPerSecond} and {@code staleSeconds} are the model's inputs (λ and S)
     * for the calibration log, so that a miscalibration can be traced to one of them; NaN when not
     * known. They are taken when the read is sampled, a moment after its confidence was.
     */
    public record Sample(String key, long version, double confidence, long readMillis, double writesPerSecond,
            double staleSeconds) {
    }

    /** Receives each resolved sample (metrics, the JSON-lines log). Applier thread. */
    public interface Sink {
        void resolved(Sample s, boolean current, int decile);
    }

    private static final int MAX_OPEN = 100_000;
    /** How long applied writes are kept for samples that arrive after them, and at most how many. */
    static final long RECENT_MILLIS = 2_000;
    static final int MAX_RECENT = 100_000;

    private record Recent(String key, long version, long commitMillis, long appliedNanos) {
    }

    private final double rate;
    private final long marginMillis;
    private final Sink sink;
    private final ConcurrentLinkedQueue<Sample> intake = new ConcurrentLinkedQueue<>();
    private final AtomicInteger open = new AtomicInteger();
    // applier thread only
    private final Map<String, List<Sample>> byKey = new HashMap<>();
    private final ArrayDeque<Sample> byTime = new ArrayDeque<>();
    private final AtomicLongArray samples = new AtomicLongArray(10);
    private final AtomicLongArray current = new AtomicLongArray(10);
    /** Per decile, the confidences given, summed in millionths: the mean given is what "calibrated" compares with. */
    private final AtomicLongArray givenMicros = new AtomicLongArray(10);
    private final AtomicLongArray dropped = new AtomicLongArray(1);
    // applier thread only: the writes applied in the last RECENT_MILLIS, by key and in order
    private final Map<String, ArrayDeque<Recent>> recentByKey = new HashMap<>();
    private final ArrayDeque<Recent> recent = new ArrayDeque<>();

    public Calibration(double rate, long marginMillis, Sink sink) {
        this.rate = rate;
        this.marginMillis = marginMillis;
        this.sink = sink;
    }

    /** A local read was answered; sampled with the configured probability. Any thread. */
    public void read(String key, long version, double confidence, long readMillis) {
        if (sampled()) {
            add(new Sample(key, version, confidence, readMillis, Double.NaN, Double.NaN));
        }
    }

    /** Whether to sample the read just answered (the configured probability). Any thread. */
    public boolean sampled() {
        return rate > 0 && (rate >= 1 || ThreadLocalRandom.current().nextDouble() < rate);
    }

    /** A read that {@link #sampled()} chose. Any thread. */
    public void add(Sample s) {
        if (open.incrementAndGet() > MAX_OPEN) {
            open.decrementAndGet();
            dropped.incrementAndGet(0);
            return;
        }
        intake.add(s);
    }

    /** Applier thread: a chunk was applied; its writes may prove samples stale. */
    public void applied(List<AppliedWrite> writes, long lastCommitMillis) {
        take();
        if (rate > 0) { // no sample can come otherwise
            remember(writes, System.nanoTime());
        }
        if (!byKey.isEmpty()) {
            for (AppliedWrite w : writes) {
                List<Sample> waiting = byKey.get(w.key());
                if (waiting == null) {
                    continue;
                }
                for (int i = waiting.size() - 1; i >= 0; i--) {
                    Sample s = waiting.get(i);
                    if (w.timestampMillis() <= s.readMillis() && w.version() > s.version()) {
                        waiting.remove(i);
                        resolve(s, false);
                    }
                }
                if (waiting.isEmpty()) {
                    byKey.remove(w.key());
                }
            }
        }
        knownUpTo(lastCommitMillis);
    }

    /** Applier thread: the log is drained; everything committed before {@code nowMillis - margin} is applied. */
    public void drained(long nowMillis) {
        take();
        knownUpTo(nowMillis - marginMillis);
    }

    /** Samples read long enough before what the mirror has applied, and not proved stale, were current. */
    private void knownUpTo(long millis) {
        while (!byTime.isEmpty() && byTime.peekFirst().readMillis() + marginMillis <= millis) {
            Sample s = byTime.pollFirst();
            List<Sample> waiting = byKey.get(s.key());
            if (waiting != null && waiting.remove(s)) {
                if (waiting.isEmpty()) {
                    byKey.remove(s.key());
                }
                resolve(s, true);
            }
        }
    }

    private void take() {
        Sample s;
        while ((s = intake.poll()) != null) {
            if (staleByRecent(s)) {
                resolve(s, false);
                continue;
            }
            byKey.computeIfAbsent(s.key(), k -> new ArrayList<>(2)).add(s);
            byTime.addLast(s);
        }
    }

    /** Whether a write applied before the sample arrived, committed at or before its read, is newer than it. */
    private boolean staleByRecent(Sample s) {
        ArrayDeque<Recent> writes = recentByKey.get(s.key());
        if (writes != null) {
            for (Recent w : writes) {
                if (w.commitMillis() <= s.readMillis() && w.version() > s.version()) {
                    return true;
                }
            }
        }
        return false;
    }

    private void remember(List<AppliedWrite> writes, long nowNanos) {
        for (AppliedWrite w : writes) {
            Recent r = new Recent(w.key(), w.version(), w.timestampMillis(), nowNanos);
            recentByKey.computeIfAbsent(w.key(), k -> new ArrayDeque<>(2)).addLast(r);
            recent.addLast(r);
        }
        // Older than the window, or past the cap (a mirror catching up applies far more than it keeps).
        long oldest = nowNanos - TimeUnit.MILLISECONDS.toNanos(RECENT_MILLIS);
        Recent r;
        while ((r = recent.peekFirst()) != null && (r.appliedNanos() - oldest < 0 || recent.size() > MAX_RECENT)) {
            recent.pollFirst();
            ArrayDeque<Recent> same = recentByKey.get(r.key());
            same.pollFirst(); // the oldest of its key: applied in order
            if (same.isEmpty()) {
                recentByKey.remove(r.key());
            }
        }
    }

    private void resolve(Sample s, boolean isCurrent) {
        open.decrementAndGet();
        int d = decile(s.confidence());
        samples.incrementAndGet(d);
        givenMicros.addAndGet(d, Math.round(s.confidence() * 1e6));
        if (isCurrent) {
            current.incrementAndGet(d);
        }
        sink.resolved(s, isCurrent, d);
    }

    /** 0 for [0, 0.1), …, 9 for [0.9, 1.0]. */
    public static int decile(double confidence) {
        return Math.max(0, Math.min(9, (int) Math.floor(confidence * 10)));
    }

    /**
     * Per decile: {@code bucket, samples, current, currentRate, meanConfidence}, for deciles with
     * samples. Calibrated means {@code currentRate} ≈ {@code meanConfidence} in every row.
     */
    public List<Map<String, Object>> table() {
        List<Map<String, Object>> rows = new ArrayList<>();
        for (int d = 0; d < 10; d++) {
            long n = samples.get(d);
            if (n == 0) {
                continue;
            }
            long c = current.get(d);
            Map<String, Object> row = new java.util.LinkedHashMap<>();
            row.put("bucket", String.format(java.util.Locale.ROOT, "%.1f-%.1f", d / 10.0, (d + 1) / 10.0));
            row.put("samples", n);
            row.put("current", c);
            row.put("currentRate", (double) c / n);
            row.put("meanConfidence", givenMicros.get(d) / 1e6 / n);
            rows.add(row);
        }
        return rows;
    }

    /**
     * The calibration error over every sample decided so far: per decile, the gap between the
     * confidences given and the reads found current, summed and divided by the reads (0 is perfect;
     * the expected calibration error). NaN before the first sample is decided.
     */
    public double error() {
        long n = 0;
        double gap = 0;
        for (int d = 0; d < 10; d++) {
            n += samples.get(d);
            gap += Math.abs(givenMicros.get(d) / 1e6 - current.get(d));
        }
        return n == 0 ? Double.NaN : gap / n;
    }

    /** Applied writes kept for samples that arrive after them (applier thread; for tests). */
    int recentWrites() {
        return recent.size();
    }

    /** Samples taken and not resolved yet. */
    public int open() {
        return open.get();
    }

    public long dropped() {
        return dropped.get(0);
    }
}
