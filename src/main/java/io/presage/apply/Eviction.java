package io.presage.apply;

import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

/** Bounding a map without bookkeeping per access: when full, drop a sixteenth of it. */
public final class Eviction {
    private Eviction() {
    }

    /** Removes about 1/16 of {@code capacity} entries (at least one), in the map's own order; returns how many. */
    public static int sixteenth(Map<String, ?> map, int capacity) {
        int n = Math.max(1, capacity / 16);
        int removed = 0;
        Iterator<String> it = map.keySet().iterator();
        while (removed < n && it.hasNext()) {
            it.next();
            it.remove();
            removed++;
        }
        return removed;
    }

    /** Entries whose scores {@link #lowest} samples to pick its threshold. */
    static final int SAMPLE = 1024;

    /**
     * Removes about 1/16 of {@code capacity} entries, those of lowest {@code score}: the threshold is the
     * sixteenth quantile of a random sample of the scores; one pass removes the entries below it, a
     * second those at it, until a sixteenth is gone (ties, such as the keys of one reconciliation
     * stamped with one time, must not take far more). A {@link #sixteenth} if the map changed under the
     * sample and nothing could be removed. For a map whose entries are not equally worth keeping: in
     * hash order, the same region went each time, hot keys in it too.
     */
    public static <V> int lowest(Map<String, V> map, int capacity, ToDoubleFunction<V> score) {
        int n = Math.max(1, capacity / 16);
        double[] sample = new double[SAMPLE];
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        int taken = 0;
        int seen = 0;
        for (V v : map.values()) { // reservoir sampling: every entry equally likely
            double s = score.applyAsDouble(v);
            if (taken < sample.length) {
                sample[taken++] = s;
            } else {
                int j = rnd.nextInt(seen + 1);
                if (j < sample.length) {
                    sample[j] = s;
                }
            }
            seen++;
        }
        if (taken == 0) {
            return 0; // emptied meanwhile (another thread evicted)
        }
        Arrays.sort(sample, 0, taken);
        double threshold = sample[(int) Math.min(taken - 1, (long) taken * n / seen)];
        int removed = removeUpTo(map, n, v -> score.applyAsDouble(v) < threshold);
        removed += removeUpTo(map, n - removed, v -> score.applyAsDouble(v) == threshold);
        return removed > 0 ? removed : sixteenth(map, capacity);
    }

    private static <V> int removeUpTo(Map<String, V> map, int most, Predicate<V> which) {
        int removed = 0;
        Iterator<V> it = map.values().iterator();
        while (removed < most && it.hasNext()) {
            if (which.test(it.next())) {
                it.remove();
                removed++;
            }
        }
        return removed;
    }

    /**
     * Makes room in a full map: first the entries {@code stale} says are of no use any more; only if
     * that frees nothing, a {@link #sixteenth}. A map full of live entries thus loses few of them, and
     * one full of stale ones loses only those.
     */
    public static <V> void staleFirst(Map<String, V> map, int capacity, Predicate<V> stale) {
        map.values().removeIf(stale);
        if (map.size() >= capacity) {
            sixteenth(map, capacity);
        }
    }
}
