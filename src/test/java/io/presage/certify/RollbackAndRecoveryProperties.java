package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

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
 * The paths {@link SerializabilityProperties} leaves out: the undo log on, batches of commits made
 * durable or rolled back as their publish succeeds or fails, and restarts that rebuild the certifier
 * from a store that applied part of the log plus a replay of the rest. Whatever commits durably must
 * replay serially in timestamp order to the versions it read, every timestamp used once
 * ({@link History}), and the certifier must know each key at the store's version.
 *
 * <p>Each try is one random run drawn from its seed: configuration (policy, partitions, history depth,
 * window and bucket sizes, adjusted-timestamp window, with or without cold lookups and undo), then
 * clients that read current or older versions, write, commit, and between them releases, rollbacks
 * and restarts. Keys include ones whose hash codes collide.
 */
class RollbackAndRecoveryProperties {
    private static final String[] KEYS = {"Aa", "BB", "AaAa", "BBBB", "AaBB", "BBAa", "k0", "k1", "k2", "k3", "k4", "k5",
        "k6", "k7", "k8", "k9", "x", "y"};

    @Property(tries = 1500)
    void durableCommitsReplaySeriallyThroughRollbacksAndRestarts(@ForAll long seed) {
        String violation = run(seed, false);
        assertNull(violation, () -> "seed " + seed + ": " + violation);
    }

    /** The oracle can fail on these paths: with the read-timestamp check off, some run breaks it. */
    @Example
    void theOracleCatchesACertifierThatSkipsTheReadTimestampCheck() {
        String found = null;
        for (long seed = 0; seed < 3_000 && found == null; seed++) {
            found = run(seed, true);
        }
        assertNotNull(found, "a certifier without the Tr check must produce a violation");
    }

    private record Txn(long ts, List<String> writes) {
    }

    /** One run; the first violation found, or null. */
    static String run(long seed, boolean skipTrCheck) {
        Random r = new Random(seed);
        Policy policy = r.nextInt(4) == 0 ? Policy.BASIC : Policy.ADAPTIVE;
        CertifierConfig cfg = new CertifierConfig(policy, 1 + r.nextInt(r.nextBoolean() ? 3 : 9),
                1 + r.nextInt(r.nextBoolean() ? 4 : 20), 1 << r.nextInt(5), 1 + r.nextInt(3), 1 + r.nextInt(8));
        boolean undo = r.nextBoolean();
        History durable = new History();
        ColdVersions cold = r.nextBoolean() ? durable::read : ColdVersions.NONE;
        Certifier certifier = newCertifier(cfg, new Hlc(), cold, undo, skipTrCheck);

        Map<String, List<Long>> versions = new HashMap<>(); // each key's durable versions, oldest first
        List<Txn> log = new ArrayList<>(); // durable commits in log order
        List<History.Committed> pending = new ArrayList<>(); // certified, publish not settled
        long mark = certifier.mark();
        int keys = 2 + r.nextInt(KEYS.length - 1);
        List<Map<String, Long>> reads = new ArrayList<>();
        List<LinkedHashSet<String>> writes = new ArrayList<>();
        for (int i = 2 + r.nextInt(6); i > 0; i--) {
            reads.add(new LinkedHashMap<>());
            writes.add(new LinkedHashSet<>());
        }
        for (int step = 50 + r.nextInt(600); step > 0; step--) {
            int client = r.nextInt(reads.size());
            String key = KEYS[r.nextInt(keys)];
            int op = r.nextInt(10);
            if (op < 3) {
                reads.get(client).putIfAbsent(key, durable.read(key));
            } else if (op < 4) {
                List<Long> h = versions.getOrDefault(key, List.of(0L));
                reads.get(client).putIfAbsent(key, h.get(Math.max(0, h.size() - 1 - r.nextInt(3))));
            } else if (op < 7) {
                writes.get(client).add(key);
            } else if (op < 9) {
                Map<String, Long> rs = reads.get(client);
                TxnRequest t = TxnRequest.of(rs.keySet().toArray(String[]::new),
                        rs.values().stream().mapToLong(Long::longValue).toArray(), writes.get(client).toArray(String[]::new));
                Decision d = certifier.certify(t);
                if (d.committed()) {
                    History.Committed c = new History.Committed(d.timestamp(), Map.copyOf(rs), List.copyOf(writes.get(client)));
                    if (undo) {
                        pending.add(c);
                    } else {
                        makeDurable(c, durable, versions, log);
                    }
                }
                rs.clear();
                writes.get(client).clear();
            } else if (undo && !pending.isEmpty()) {
                if (r.nextInt(3) == 0) { // the publish failed
                    certifier.rollbackTo(mark);
                } else { // acknowledged
                    certifier.release(certifier.mark());
                    pending.forEach(c -> makeDurable(c, durable, versions, log));
                }
                pending.clear();
                mark = certifier.mark();
            } else if (pending.isEmpty() && r.nextInt(4) == 0) {
                certifier = restarted(cfg, cold, undo, skipTrCheck, log, r.nextInt(log.size() + 1));
                mark = certifier.mark();
            }
        }
        String violation = durable.violation();
        if (violation == null && pending.isEmpty()) {
            for (Map.Entry<String, List<Long>> e : versions.entrySet()) {
                long known = certifier.knownVersion(e.getKey());
                long stored = durable.read(e.getKey());
                if (known >= 0 && known != stored) {
                    return "the certifier knows " + e.getKey() + "@" + known + ", the store has @" + stored;
                }
            }
        }
        return violation;
    }

    private static void makeDurable(History.Committed c, History durable, Map<String, List<Long>> versions, List<Txn> log) {
        durable.commit(c.ts(), c.reads(), c.writes());
        for (String w : c.writes()) {
            versions.computeIfAbsent(w, k -> new ArrayList<>(List.of(0L))).add(c.ts());
        }
        log.add(new Txn(c.ts(), c.writes()));
    }

    /** A certifier rebuilt as the coordinator rebuilds it: the store applied the first {@code applied} commits. */
    private static Certifier restarted(CertifierConfig cfg, ColdVersions cold, boolean undo, boolean skipTrCheck,
            List<Txn> log, int applied) {
        Hlc clock = new Hlc();
        long maxVersion = 0;
        for (Txn t : log.subList(0, applied)) {
            clock.observe(t.ts()); // the store's largest commit timestamp, read-only ones included
            if (!t.writes().isEmpty()) {
                maxVersion = Math.max(maxVersion, t.ts());
            }
        }
        Certifier c = newCertifier(cfg, clock, cold, undo, skipTrCheck);
        c.beginRecovery(maxVersion);
        for (Txn t : log.subList(applied, log.size())) {
            c.replay(t.ts(), t.writes().toArray(String[]::new));
        }
        c.endRecovery();
        return c;
    }

    private static Certifier newCertifier(CertifierConfig cfg, Hlc clock, ColdVersions cold, boolean undo, boolean skipTrCheck) {
        Certifier c = new Certifier(cfg, clock, cold, undo);
        if (skipTrCheck) {
            c.injectFaultSkipTrCheck();
        }
        return c;
    }
}
