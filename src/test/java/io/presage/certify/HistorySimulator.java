package io.presage.certify;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Drives a certifier with concurrent optimistic clients in a given interleaving. Each client reads
 * keys one at a time (each read sees the store as it is at that step, so a client's reads may come
 * from different moments), chooses keys to write, and at some later step asks to commit.
 */
final class HistorySimulator {
    enum Op { READ, WRITE, COMMIT }

    record Step(int client, Op op, int key) {
    }

    static final class Client {
        final Map<String, Long> reads = new LinkedHashMap<>();
        final Set<String> writes = new LinkedHashSet<>();
    }

    record Result(History history, int commits, int aborts, int adjusted, String violation) {
    }

    static Result run(Certifier certifier, int clients, List<Step> steps) {
        return run(certifier, clients, steps, new History());
    }

    /** Runs against {@code h}, whose store may also stand behind the certifier's cold lookups. */
    static Result run(Certifier certifier, int clients, List<Step> steps, History h) {
        Client[] cs = new Client[clients];
        for (int i = 0; i < clients; i++) {
            cs[i] = new Client();
        }
        int commits = 0;
        int aborts = 0;
        int adjusted = 0;
        for (Step s : steps) {
            Client c = cs[s.client() % clients];
            String key = "k" + s.key();
            switch (s.op()) {
                case READ -> c.reads.putIfAbsent(key, h.read(key));
                case WRITE -> c.writes.add(key);
                case COMMIT -> {
                    String[] rk = c.reads.keySet().toArray(String[]::new);
                    long[] rv = c.reads.values().stream().mapToLong(Long::longValue).toArray();
                    Decision d = certifier.certify(TxnRequest.of(rk, rv, c.writes.toArray(String[]::new)));
                    if (d.committed()) {
                        h.commit(d.timestamp(), c.reads, new ArrayList<>(c.writes));
                        commits++;
                        adjusted += d.adjusted() ? 1 : 0;
                    } else {
                        aborts++;
                    }
                    c.reads.clear();
                    c.writes.clear();
                }
            }
        }
        // The certifier's own view of each key it still holds must agree with the store.
        for (Map.Entry<String, Long> e : h.store.entrySet()) {
            long known = certifier.knownVersion(e.getKey());
            if (known >= 0 && known != e.getValue()) {
                return new Result(h, commits, aborts, adjusted,
                        "certifier holds " + e.getKey() + "@" + known + " but the store has @" + e.getValue());
            }
        }
        return new Result(h, commits, aborts, adjusted, h.violation());
    }
}
