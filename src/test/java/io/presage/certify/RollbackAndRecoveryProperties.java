package io.presage.certify;

import static io.presage.certify.CertifierRuns.assertNoViolation;
import static io.presage.certify.CertifierRuns.assertTheOracleCatchesASkippedTrCheck;
import static io.presage.certify.CertifierRuns.config;
import static io.presage.certify.CertifierRuns.newCertifier;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;

import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

import io.presage.certify.CertifierRuns.Clients;

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
    @Property(tries = 1500)
    void durableCommitsReplaySeriallyThroughRollbacksAndRestarts(@ForAll long seed) {
        assertNoViolation(seed, run(seed, false));
    }

    /** The oracle can fail on these paths: with the read-timestamp check off, some run breaks it. */
    @Example
    void theOracleCatchesACertifierThatSkipsTheReadTimestampCheck() {
        assertTheOracleCatchesASkippedTrCheck(seed -> run(seed, true));
    }

    private record Txn(long ts, List<String> writes) {
    }

    /** One run; the first violation found, or null. */
    static String run(long seed, boolean skipTrCheck) {
        Random r = new Random(seed);
        CertifierConfig cfg = config(r, 4);
        boolean undo = r.nextBoolean();
        History durable = new History();
        ColdVersions cold = r.nextBoolean() ? durable::read : ColdVersions.NONE;
        Certifier certifier = newCertifier(cfg, new Hlc(), cold, undo, skipTrCheck);

        Map<String, List<Long>> versions = new HashMap<>(); // each key's durable versions, oldest first
        List<Txn> log = new ArrayList<>(); // durable commits in log order
        List<History.Committed> pending = new ArrayList<>(); // certified, publish not settled
        long mark = certifier.mark();
        Clients clients = new Clients(r);
        Consumer<History.Committed> committed = undo ? pending::add : c -> makeDurable(c, durable, versions, log);
        for (int step = 50 + r.nextInt(600); step > 0; step--) {
            if (clients.step(certifier, durable, versions, 3, committed)) {
                continue;
            }
            if (undo && !pending.isEmpty()) {
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
}
