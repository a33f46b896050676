package io.presage.certify;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Serializability oracle: the committed transactions of a run, replayed one at a time in
 * timestamp order against a plain map, must read exactly the versions they claimed, and end in the
 * state the system holds.
 */
final class History {
    record Committed(long ts, Map<String, Long> reads, List<String> writes) {
    }

    private final List<Committed> committed = new ArrayList<>();
    /** The store the clients read from: the latest committed version of each key. */
    final Map<String, Long> store = new HashMap<>();

    synchronized void commit(long ts, Map<String, Long> reads, List<String> writes) {
        committed.add(new Committed(ts, Map.copyOf(reads), List.copyOf(writes)));
        for (String w : writes) {
            long before = store.getOrDefault(w, 0L);
            if (ts <= before) {
                throw new AssertionError("write of " + w + " at " + ts + " does not supersede " + before);
            }
            store.put(w, ts);
        }
    }

    synchronized long read(String key) {
        return store.getOrDefault(key, 0L);
    }

    synchronized int size() {
        return committed.size();
    }

    /** The first violation found, or null when the history is serializable in timestamp order. */
    synchronized String violation() {
        List<Committed> order = new ArrayList<>(committed);
        order.sort(Comparator.comparingLong(Committed::ts));
        Set<Long> seen = new HashSet<>();
        Map<String, Long> replay = new LinkedHashMap<>();
        for (Committed c : order) {
            if (!seen.add(c.ts())) {
                return "timestamp " + c.ts() + " used twice";
            }
            for (Map.Entry<String, Long> r : c.reads().entrySet()) {
                long serial = replay.getOrDefault(r.getKey(), 0L);
                if (serial != r.getValue()) {
                    return "txn@" + c.ts() + " claims " + r.getKey() + "@" + r.getValue()
                            + " but the serial replay has " + r.getKey() + "@" + serial;
                }
            }
            for (String w : c.writes()) {
                replay.put(w, c.ts());
            }
        }
        if (!replay.equals(store)) {
            return "final state differs: replay " + replay + " vs store " + store;
        }
        return null;
    }
}
