package io.presage.speculate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.coord.TxnSpec;
import io.presage.proc.Attempts;
import io.presage.proc.Procedure;
import io.presage.proc.ProcedureException;
import io.presage.proc.Procedures;

/** Review of the speculation driver: a call's attempt ids, and outcomes after a restart. */
class SpeculationReviewTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Procedure INCREMENT = Procedures.get("increment");

    private final ToyCoordinator coordinator = new ToyCoordinator();
    private final ToyCoordinator.AppliedLog log = new ToyCoordinator.AppliedLog();
    private final Finished finished = new Finished();
    private final AttemptJournal journal = new AttemptJournal();

    private Speculator speculator(Speculator.Coordinator c, Speculator.Journal j) {
        return new Speculator(c, j, (seq, stream) -> log.await(seq), JSON, "m1", finished, 1, 4, 1, 8);
    }

    /**
     * A procedure call with the client's id, speculated at a mirror whose copy of the key is stale and
     * makes the procedure refuse there. The mirror asks the coordinator whether the call committed (no),
     * then re-executes on the coordinator's latest data under attempt id {@code id#1}: attempt
     * {@code id#0} is never sent. Meanwhile the same call (same id) runs at the coordinator (a client's
     * retry there, or another mirror's speculation), walks the attempt ids from {@code id#0}, finds
     * {@code id#0} unknown and commits it. The mirror's {@code id#1} is then a new transaction id for the
     * coordinator: it is certified on its own and the call takes effect twice.
     */
    @Test
    void aCallRefusedOnLocalDataAndRunAgainAtTheCoordinatorCommitsOnlyOnce() throws Exception {
        coordinator.put("dc", "not yet a number"); // what the mirror has applied
        Speculator.Snapshot local = coordinator.snapshot(List.of("dc"));
        coordinator.put("dc", 5); // the coordinator's value, not applied at the mirror yet

        // The mirror's store is slow to record its first attempt: the window in which the other run happens.
        CompletableFuture<Void> slowStore = new CompletableFuture<>();
        Speculator.Journal slow = new Speculator.Journal() {
            @Override
            public CompletableFuture<?> attempting(String id, int n, TxnSpec txn, JsonNode result) {
                return slowStore.thenCompose(v -> journal.attempting(id, n, txn, result));
            }

            @Override
            public CompletableFuture<?> decided(Speculation.View outcome, long recordedMillis) {
                return journal.decided(outcome, recordedMillis);
            }
        };
        Speculation s = new Speculation("dc-call");
        speculator(coordinator, slow).procedure(s, INCREMENT, args("{\"key\":\"dc\"}"), local, true);
        assertEquals(null, s.view().speculativeResult(), "refused on the mirror's copy: the 202 has no result");

        // The same call, at the coordinator (as its ProcedureRunner runs it: attempt ids from #0, on its latest data).
        JsonNode atCoordinator = runAtCoordinator("dc-call", args("{\"key\":\"dc\"}"));
        assertEquals(6, atCoordinator.asInt(), "the coordinator's run of the call committed 5 + 1");

        slowStore.complete(null);
        log.advance(Long.MAX_VALUE);
        finished.await(s);

        assertEquals(6, coordinator.value("dc").asInt(),
                "one increment call (id dc-call) applied once; committed attempts: " + coordinator.committedIds
                        + ", mirror's outcome: " + s.view());
        assertEquals(1, coordinator.committedIds.size(), "committed attempts of one call: " + coordinator.committedIds);
    }

    /**
     * A speculation answered 202 with result R (planned on the mirror's data), then the mirror restarts
     * before its first attempt was recorded (here: the coordinator is unreachable, so the call's id could
     * not be checked yet, and nothing was sent). Meanwhile the key changes. The restarted mirror plans the
     * call anew on the coordinator's latest data, commits another result, and reports it COMMITTED, the
     * outcome that means "committed as speculated", without a {@code speculativeResult}. The client that
     * was answered R is told COMMITTED with a different result.
     */
    @Test
    void aSpeculationResumedAfterARestartIsNotReportedCommittedWithAnotherResultThanThe202s() throws Exception {
        coordinator.put("off", 0);
        Speculator.Coordinator unreachable = new Speculator.Coordinator() {
            @Override
            public CompletableFuture<CoordinatorAnswer> commit(TxnSpec txn) {
                return CompletableFuture.failedFuture(new java.io.IOException("connection refused"));
            }

            @Override
            public CompletableFuture<Speculator.Snapshot> latest(List<String> keys) {
                return CompletableFuture.failedFuture(new java.io.IOException("connection refused"));
            }

            @Override
            public CompletableFuture<CoordinatorAnswer.Committed> committed(String id) {
                return CompletableFuture.failedFuture(new java.io.IOException("connection refused"));
            }
        };
        Speculator before = speculator(unreachable, journal);
        Speculation s = new Speculation("off-call");
        before.procedure(s, INCREMENT, args("{\"key\":\"off\"}"), coordinator.snapshot(List.of("off")), true);
        JsonNode answered = s.view().speculativeResult();
        assertEquals(1, answered.asInt(), "the 202's result");
        Thread.sleep(30);
        before.stop(); // the mirror goes down with the speculation undecided

        coordinator.put("off", 10); // another client's write meanwhile

        Speculation after = new Speculation("off-call");
        journal.resume(speculator(coordinator, journal), after, INCREMENT, args("{\"key\":\"off\"}"));
        log.advance(Long.MAX_VALUE);
        finished.await(after);

        Speculation.View v = after.view();
        assertEquals(11, v.result().asInt(), "re-planned on the latest data: " + v);
        assertTrue(v.status() != Speculation.Status.COMMITTED || v.result().asInt() == answered.asInt(),
                "reported COMMITTED (committed as speculated) with result " + v.result() + " while the 202 answered "
                        + answered + ": " + v);
    }

    /**
     * The same double commit without a refusal on local data, through a coordinator restart: the mirror's
     * attempt {@code #0} aborted (stale copy), and before its attempt {@code #1} is sent the coordinator
     * restarts, forgetting that abort (it keeps committed ids only). A retry of the call at the coordinator
     * then finds no attempt committed and commits {@code #0}; the mirror's walk goes on from {@code #1} and
     * commits too.
     */
    @Test
    void aCallWhoseAttemptZeroAbortedBeforeACoordinatorRestartIsNotCommittedTwice() throws Exception {
        coordinator.put("rs", 1);
        Speculator.Snapshot stale = coordinator.snapshot(List.of("rs"));
        coordinator.put("rs", 5); // the mirror has not applied this: its attempt #0 aborts

        CompletableFuture<Void> slowStore = new CompletableFuture<>();
        java.util.concurrent.CountDownLatch secondPlanned = new java.util.concurrent.CountDownLatch(1);
        Speculator.Journal slowAfterFirst = new Speculator.Journal() {
            @Override
            public CompletableFuture<?> attempting(String id, int n, TxnSpec txn, JsonNode result) {
                if (n == 0) {
                    return journal.attempting(id, n, txn, result);
                }
                secondPlanned.countDown();
                return slowStore.thenCompose(v -> journal.attempting(id, n, txn, result));
            }

            @Override
            public CompletableFuture<?> decided(Speculation.View outcome, long recordedMillis) {
                return journal.decided(outcome, recordedMillis);
            }
        };
        Speculation s = new Speculation("rs-call");
        speculator(coordinator, slowAfterFirst).procedure(s, INCREMENT, args("{\"key\":\"rs\"}"), stale, true);
        // #0 answered ABORTED; #1 planned, waiting for its record
        assertTrue(secondPlanned.await(10, java.util.concurrent.TimeUnit.SECONDS), "attempt #1 planned after #0 aborted");
        assertTrue(coordinator.submittedIds.contains("rs-call#0"), "#0 was sent: " + coordinator.submittedIds);
        coordinator.restart(); // forgets the abort of rs-call#0

        JsonNode atCoordinator = runAtCoordinator("rs-call", args("{\"key\":\"rs\"}"));
        assertEquals(6, atCoordinator.asInt());

        slowStore.complete(null);
        log.advance(Long.MAX_VALUE);
        finished.await(s);
        assertEquals(6, coordinator.value("rs").asInt(), "one call applied once; committed attempts: " + coordinator.committedIds
                + ", mirror's outcome: " + s.view());
    }

    /** The coordinator's procedure runner, as far as attempt ids go: the call's earlier commit, else attempts #0.. on the latest data. */
    private JsonNode runAtCoordinator(String id, JsonNode args) throws Exception {
        CoordinatorAnswer.Committed earlier = coordinator.committed(id).get();
        if (earlier != null) {
            return earlier.result();
        }
        List<String> keys = INCREMENT.keys(args);
        for (int n = 0; n < Attempts.MAX; n++) {
            Speculator.Snapshot data = coordinator.snapshot(keys);
            Procedure.Plan plan;
            try {
                plan = INCREMENT.plan(args, data.values());
            } catch (ProcedureException e) {
                return null;
            }
            List<TxnSpec.Read> reads = new ArrayList<>();
            for (String k : keys) {
                reads.add(new TxnSpec.Read(k, data.versions().get(k)));
            }
            List<TxnSpec.Write> writes = new ArrayList<>();
            for (Map.Entry<String, JsonNode> w : plan.writes().entrySet()) {
                writes.add(new TxnSpec.Write(w.getKey(), JSON.writeValueAsBytes(w.getValue())));
            }
            CoordinatorAnswer a = coordinator.commit(new TxnSpec(Attempts.id(id, n), reads, writes, "coordinator",
                    plan.result().toString())).get();
            if (a instanceof CoordinatorAnswer.Committed c) {
                assertNotNull(c.result());
                return c.result();
            }
            assertInstanceOf(CoordinatorAnswer.Aborted.class, a);
        }
        return null;
    }

    private static JsonNode args(String json) throws Exception {
        return JSON.readTree(json);
    }
}
