package io.presage.apply;

import java.util.Iterator;
import java.util.Map;
import java.util.function.Predicate;

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
