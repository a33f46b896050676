package io.presage.it;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The serializability oracle for a history observed from outside, over HTTP (DESIGN §3: the serial
 * order is commit-timestamp order). Every committed transaction is replayed alone, in timestamp order,
 * against a plain map; the history is serializable in that order exactly when each transaction read,
 * for each key, the version that the replay holds at that point, and the replay ends in the state the
 * system holds. Beside that, every value that a plain read returned must be the value that the
 * committed write of that version wrote: a read of a version no committed transaction wrote, or with
 * another value, is a read of something that never committed.
 *
 * <p>It needs to know nothing of how the coordinator chose the timestamps, so an adjusted commit (a
 * timestamp in the past) is checked like any other.
 */
final class TimestampOrderReplay {

    /** A read as a transaction claimed it: the key and the version it saw. */
    record Read(String key, long version) {
    }

    /** A transaction answered COMMITTED at {@code ts}; writes map each key to its value's JSON text. */
    record Committed(String id, long ts, List<Read> reads, Map<String, String> writes) {
    }

    /** A plain read's answer: key, version and the value's JSON text. */
    record Observed(String key, long version, String value) {
    }

    /** A key's version and value, as the replay or the system holds them. */
    record Versioned(long version, String value) {
    }

    private TimestampOrderReplay() {
    }

    /**
     * Every violation found (empty when the history is serializable in timestamp order), at most
     * {@code limit} of them.
     *
     * @param committed every transaction answered COMMITTED, the loading writes included
     * @param observed  the answers of plain reads made along the way
     * @param finalState what the system holds at the end, for every key written
     */
    static List<String> violations(List<Committed> committed, List<Observed> observed,
            Map<String, Versioned> finalState, int limit) {
        List<String> found = new ArrayList<>();
        List<Committed> order = new ArrayList<>(committed);
        order.sort(Comparator.comparingLong(Committed::ts));
        Map<String, Versioned> replay = new HashMap<>();
        Map<String, Map<Long, String>> written = new HashMap<>();
        Committed previous = null;
        for (Committed c : order) {
            if (previous != null && previous.ts() == c.ts()) {
                found.add("timestamp " + c.ts() + " given to both " + previous.id() + " and " + c.id());
            }
            previous = c;
            for (Read r : c.reads()) {
                Versioned now = replay.get(r.key());
                long serial = now == null ? 0 : now.version();
                if (serial != r.version()) {
                    found.add(c.id() + " committed at " + c.ts() + " having read " + r.key() + "@" + r.version()
                            + ", but in timestamp order " + r.key() + " is at " + serial + " there");
                }
            }
            for (Map.Entry<String, String> w : c.writes().entrySet()) {
                replay.put(w.getKey(), new Versioned(c.ts(), w.getValue()));
                written.computeIfAbsent(w.getKey(), k -> new HashMap<>()).put(c.ts(), w.getValue());
            }
        }
        for (Observed o : observed) {
            String value = written.getOrDefault(o.key(), Map.of()).get(o.version());
            if (value == null) {
                found.add("a read of " + o.key() + " returned version " + o.version() + ", which no committed transaction wrote");
            } else if (!value.equals(o.value())) {
                found.add("a read of " + o.key() + "@" + o.version() + " returned " + o.value() + ", but " + value
                        + " was written there");
            }
        }
        for (Map.Entry<String, Versioned> e : replay.entrySet()) {
            Versioned held = finalState.get(e.getKey());
            if (!e.getValue().equals(held)) {
                found.add(e.getKey() + " ends as " + held + ", but the timestamp-order replay ends at " + e.getValue());
            }
        }
        return found.size() > limit ? found.subList(0, limit) : found;
    }
}
