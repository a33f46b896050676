package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.function.LongFunction;

/**
 * What the certifier's random-run properties share ({@link RollbackAndRecoveryProperties},
 * {@link PipelinedSettlementProperties}, {@link DeletedKeyReadProperties}): the configuration and the
 * clients they draw, and their two verdicts. A run draws everything from one {@link Random} seeded by
 * the try, so a failing seed replays the same run; the helpers here draw in the order the runs always
 * drew, so a seed names the same run as before they were shared.
 */
final class CertifierRuns {
    /** The keys clients use; some have colliding hash codes ("Aa" and "BB", and their concatenations). */
    static final String[] KEYS = {"Aa", "BB", "AaAa", "BBBB", "AaBB", "BBAa", "k0", "k1", "k2", "k3", "k4", "k5",
        "k6", "k7", "k8", "k9", "x", "y"};

    private CertifierRuns() {
    }

    /** Run {@code seed} found no violation. */
    static void assertNoViolation(long seed, String violation) {
        assertNull(violation, () -> "seed " + seed + ": " + violation);
    }

    /**
     * The oracle can fail: with the read-timestamp check off ({@code runWithoutTrCheck}), one of the
     * first 3,000 seeds breaks it.
     */
    static void assertTheOracleCatchesASkippedTrCheck(LongFunction<String> runWithoutTrCheck) {
        String found = null;
        for (long seed = 0; seed < 3_000 && found == null; seed++) {
            found = runWithoutTrCheck.apply(seed);
        }
        assertNotNull(found, "a certifier without the Tr check must produce a violation");
    }

    /**
     * A random configuration: policy BASIC one time in {@code basicOneIn}, else ADAPTIVE; partitions,
     * history depth, window and bucket sizes and adjusted-timestamp window small or large.
     */
    static CertifierConfig config(Random r, int basicOneIn) {
        Policy policy = r.nextInt(basicOneIn) == 0 ? Policy.BASIC : Policy.ADAPTIVE;
        return new CertifierConfig(policy, 1 + r.nextInt(r.nextBoolean() ? 3 : 9),
                1 + r.nextInt(r.nextBoolean() ? 4 : 20), 1 << r.nextInt(5), 1 + r.nextInt(3), 1 + r.nextInt(8));
    }

    /** A certifier, with the read-timestamp check off when {@code skipTrCheck} (to show the oracle fails). */
    static Certifier newCertifier(CertifierConfig cfg, Hlc clock, ColdVersions cold, boolean undo, boolean skipTrCheck) {
        Certifier c = new Certifier(cfg, clock, cold, undo);
        if (skipTrCheck) {
            c.injectFaultSkipTrCheck();
        }
        return c;
    }

    /**
     * Two to seven clients over the first two to all of {@link #KEYS}, each with the reads and writes of
     * the transaction it has open.
     */
    static final class Clients {
        private final Random r;
        private final int keys;
        private final List<Map<String, Long>> reads = new ArrayList<>();
        private final List<LinkedHashSet<String>> writes = new ArrayList<>();

        Clients(Random r) {
            this.r = r;
            keys = 2 + r.nextInt(KEYS.length - 1);
            for (int i = 2 + r.nextInt(6); i > 0; i--) {
                reads.add(new LinkedHashMap<>());
                writes.add(new LinkedHashSet<>());
            }
        }

        /**
         * One step of a random client on a random key. Three times in ten it reads the key's durable
         * version, once one of the key's last {@code depth} durable {@code versions} (a stale read),
         * three times it writes the key, twice it asks {@code certifier} to commit its transaction
         * ({@code committed} takes it if it commits) and starts another. The remaining time in ten it
         * does nothing and this returns false: the run's own step (settle, roll back, restart).
         */
        boolean step(Certifier certifier, History durable, Map<String, List<Long>> versions, int depth,
                Consumer<History.Committed> committed) {
            int client = r.nextInt(reads.size());
            String key = KEYS[r.nextInt(keys)];
            int op = r.nextInt(10);
            if (op < 3) {
                reads.get(client).putIfAbsent(key, durable.read(key));
            } else if (op < 4) {
                List<Long> h = versions.getOrDefault(key, List.of(0L));
                reads.get(client).putIfAbsent(key, h.get(Math.max(0, h.size() - 1 - r.nextInt(depth))));
            } else if (op < 7) {
                writes.get(client).add(key);
            } else if (op < 9) {
                Map<String, Long> rs = reads.get(client);
                TxnRequest t = TxnRequest.of(rs.keySet().toArray(String[]::new),
                        rs.values().stream().mapToLong(Long::longValue).toArray(), writes.get(client).toArray(String[]::new));
                Decision d = certifier.certify(t);
                if (d.committed()) {
                    committed.accept(new History.Committed(d.timestamp(), Map.copyOf(rs), List.copyOf(writes.get(client))));
                }
                rs.clear();
                writes.get(client).clear();
            } else {
                return false;
            }
            return true;
        }
    }
}
