package io.presage.predict;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import io.presage.apply.Eviction;

/**
 * What prefetching achieved: each prefetched key waits up to {@code horizonMillis} for a read. A read
 * within it is a hit (the prefetch was used); a key not read by then was wasted. Precision is hits per
 * prefetch decided (hit or wasted); recall is hits per read the ledger was told of (the reads that
 * prediction could have served).
 */
public final class PrefetchLedger {
    private final ConcurrentHashMap<String, Long> outstanding = new ConcurrentHashMap<>();
    private final long horizonMillis;
    private final int maxKeys;
    private final LongAdder prefetched = new LongAdder();
    private final LongAdder hits = new LongAdder();
    private final LongAdder reads = new LongAdder();

    public PrefetchLedger(long horizonMillis, int maxKeys) {
        this.horizonMillis = horizonMillis;
        this.maxKeys = maxKeys;
    }

    /** {@code key} was prefetched now. */
    public void prefetched(String key, long nowMillis) {
        if (!outstanding.containsKey(key) && outstanding.size() >= maxKeys) {
            Eviction.sixteenth(outstanding, maxKeys);
        }
        outstanding.put(key, nowMillis);
        prefetched.increment();
    }

    /** A read of {@code key} now; true if it used a prefetch (a hit). */
    public boolean read(String key, long nowMillis) {
        reads.increment();
        Long at = outstanding.remove(key);
        if (at != null && nowMillis - at <= horizonMillis) {
            hits.increment();
            return true;
        }
        return false;
    }

    /** Prefetched and still inside the horizon, so not decided yet. */
    public long pending(long nowMillis) {
        long n = 0;
        for (Long at : outstanding.values()) {
            if (nowMillis - at <= horizonMillis) {
                n++;
            }
        }
        return n;
    }

    public long prefetched() {
        return prefetched.sum();
    }

    public long hits() {
        return hits.sum();
    }

    public long reads() {
        return reads.sum();
    }

    /** Hits per prefetch decided; NaN before any. */
    public double precision(long nowMillis) {
        long decided = prefetched() - pending(nowMillis);
        return decided <= 0 ? Double.NaN : Math.min(1.0, hits() / (double) decided);
    }

    /** Hits per read told; NaN before any. */
    public double recall() {
        long r = reads();
        return r == 0 ? Double.NaN : hits() / (double) r;
    }
}
