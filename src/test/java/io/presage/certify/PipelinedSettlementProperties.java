package io.presage.certify;

import static io.presage.certify.CertifierRuns.assertNoViolation;
import static io.presage.certify.CertifierRuns.assertTheOracleCatchesASkippedTrCheck;
import static io.presage.certify.CertifierRuns.config;
import static io.presage.certify.CertifierRuns.newCertifier;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

import io.presage.certify.CertifierRuns.Clients;

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
    @Property(tries = 2000)
    void durableCommitsReplaySeriallyWhenPipelinedMessagesSettleOneByOne(@ForAll long seed) {
        assertNoViolation(seed, run(seed, false));
    }

    @Example
    void theOracleCatchesACertifierThatSkipsTheReadTimestampCheck() {
        assertTheOracleCatchesASkippedTrCheck(seed -> run(seed, true));
    }

    private record Pending(History.Committed txn, long markAfter) {
    }

    static String run(long seed, boolean skipTrCheck) {
        Random r = new Random(seed);
        CertifierConfig cfg = config(r, 5);
        History durable = new History();
        ColdVersions cold = r.nextBoolean() ? durable::read : ColdVersions.NONE;
        Certifier certifier = newCertifier(cfg, new Hlc(), cold, true, skipTrCheck);
        Map<String, List<Long>> versions = new HashMap<>();
        ArrayDeque<Pending> pending = new ArrayDeque<>();
        Clients clients = new Clients(r);
        long released = certifier.mark();
        for (int step = 50 + r.nextInt(600); step > 0; step--) {
            if (clients.step(certifier, durable, versions, 4, c -> pending.add(new Pending(c, certifier.mark())))) {
                continue;
            }
            if (!pending.isEmpty()) {
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
