package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;

import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Review addition. {@link RollbackAndRecoveryProperties} settles all pending commits at once (all
 * released, or all rolled back). Group commit does not: messages are pipelined, and the oldest
 * {@code n} certified transactions become durable ({@code release(markAfter of the n-th)}) while the
 * ones certified after them are still waiting, and a failed append takes back only what was certified
 * after the last released position. Here the pending queue is settled the way the pipeline settles it
 * — a durable prefix of random length, or a failure that takes back the whole unsettled suffix — with
 * clients reading current and older durable versions, and cold lookups answered by the durable store
 * (as the coordinator's memory-then-PostgreSQL lookup answers them).
 */
class PipelinedSettlementProperties {
    private static final String[] KEYS = {"Aa", "BB", "AaAa", "BBBB", "AaBB", "BBAa", "k0", "k1", "k2", "k3", "k4", "k5",
        "k6", "k7", "k8", "k9", "x", "y"};

    @Property(tries = 2000)
    void durableCommitsReplaySeriallyWhenPipelinedMessagesSettleOneByOne(@ForAll long seed) {
        String v = run(seed, false);
        assertNull(v, () -> "seed " + seed + ": " + v);
    }

    @Example
    void theOracleCatchesACertifierThatSkipsTheReadTimestampCheck() {
        String found = null;
        for (long seed = 0; seed < 3_000 && found == null; seed++) {
            found = run(seed, true);
        }
        assertNotNull(found, "a certifier without the Tr check must produce a violation");
    }

    private record Pending(History.Committed txn, long markAfter) {
    }

    static String run(long seed, boolean skipTrCheck) {
        Random r = new Random(seed);
        Policy policy = r.nextInt(5) == 0 ? Policy.BASIC : Policy.ADAPTIVE;
        CertifierConfig cfg = new CertifierConfig(policy, 1 + r.nextInt(r.nextBoolean() ? 3 : 9),
                1 + r.nextInt(r.nextBoolean() ? 4 : 20), 1 << r.nextInt(5), 1 + r.nextInt(3), 1 + r.nextInt(8));
        History durable = new History();
        ColdVersions cold = r.nextBoolean() ? durable::read : ColdVersions.NONE;
        Certifier certifier = new Certifier(cfg, new Hlc(), cold, true);
        if (skipTrCheck) {
            certifier.injectFaultSkipTrCheck();
        }
        Map<String, List<Long>> versions = new HashMap<>();
        ArrayDeque<Pending> pending = new ArrayDeque<>();
        int keys = 2 + r.nextInt(KEYS.length - 1);
        List<Map<String, Long>> reads = new ArrayList<>();
        List<LinkedHashSet<String>> writes = new ArrayList<>();
        for (int i = 2 + r.nextInt(6); i > 0; i--) {
            reads.add(new LinkedHashMap<>());
            writes.add(new LinkedHashSet<>());
        }
        long released = certifier.mark();
        for (int step = 50 + r.nextInt(600); step > 0; step--) {
            int client = r.nextInt(reads.size());
            String key = KEYS[r.nextInt(keys)];
            int op = r.nextInt(10);
            if (op < 3) {
                reads.get(client).putIfAbsent(key, durable.read(key));
            } else if (op < 4) {
                List<Long> h = versions.getOrDefault(key, List.of(0L));
                reads.get(client).putIfAbsent(key, h.get(Math.max(0, h.size() - 1 - r.nextInt(4))));
            } else if (op < 7) {
                writes.get(client).add(key);
            } else if (op < 9) {
                Map<String, Long> rs = reads.get(client);
                TxnRequest t = TxnRequest.of(rs.keySet().toArray(String[]::new),
                        rs.values().stream().mapToLong(Long::longValue).toArray(), writes.get(client).toArray(String[]::new));
                Decision d = certifier.certify(t);
                if (d.committed()) {
                    pending.add(new Pending(new History.Committed(d.timestamp(), Map.copyOf(rs),
                            List.copyOf(writes.get(client))), certifier.mark()));
                }
                rs.clear();
                writes.get(client).clear();
            } else if (!pending.isEmpty()) {
                if (r.nextInt(3) == 0) { // the oldest unsettled message failed: it and everything after it go
                    certifier.rollbackTo(released);
                    pending.clear();
                } else { // the oldest n are acknowledged; the rest stay in flight
                    int n = 1 + r.nextInt(pending.size());
                    long upTo = released;
                    for (int i = 0; i < n; i++) {
                        Pending p = pending.poll();
                        upTo = p.markAfter();
                        durable.commit(p.txn().ts(), p.txn().reads(), p.txn().writes());
                        for (String w : p.txn().writes()) {
                            versions.computeIfAbsent(w, k -> new ArrayList<>(List.of(0L))).add(p.txn().ts());
                        }
                    }
                    certifier.release(upTo);
                    released = upTo;
                }
            }
        }
        return durable.violation();
    }
}
