package io.presage.it;

import static io.presage.it.Http.awaitApplied;
import static io.presage.it.Http.awaitStatus;
import static io.restassured.RestAssured.given;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.presage.coord.CommitOutcome;
import io.presage.coord.CoordinatorEngine;
import io.presage.coord.IdLookupStamp;
import io.presage.coord.TxnSpec;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.vertx.VertxContextSupport;
import io.restassured.response.Response;

/**
 * Idempotency ids the coordinator forgets from memory (beyond {@code presage.group-commit.remembered-ids},
 * here 4) while a lookup of another id is under way, against a real nats-server and PostgreSQL.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true,
        initArgs = @ResourceArg(name = "presage.group-commit.remembered-ids", value = "4"))
class ForgottenIdsTest {
    @Inject
    CoordinatorEngine engine;

    /**
     * Attempt 1 of a call is looked up in the store before attempt 0 commits, and attempt 0 is forgotten
     * from memory before attempt 1 is claimed. Attempt 1 is refused (IDS_FORGOTTEN), but its claim of
     * attempt 0 as aborted stays, since another attempt may already rely on it; a retry of attempt 0 was
     * answered ABORTED from that claim, though attempt 0 had committed. The store now answers first.
     * Without the refusal, attempt 1 committed too: the call was applied twice.
     */
    @Test
    void aCommittedAttemptClaimedAsAbortedWhileForgottenIsStillAnsweredCommitted() throws Throwable {
        awaitStatus(s -> "READY".equals(s.getString("state")), "the coordinator READY");
        IdLookupStamp lookupOfAttempt1 = engine.idLookupStamp();

        CommitOutcome first = commit(write("forgot-call#0", "forgot-k", 1));
        CommitOutcome.Committed committed = assertInstanceOf(CommitOutcome.Committed.class, first);
        awaitApplied(committed.sequence());
        for (int i = 0; i < 8; i++) {
            // Each waits for the last to be applied: a claim forgets the oldest applied ids, and one applied
            // during this commit's own lookup would have it refused as well.
            CommitOutcome o = commit(write("forgot-filler-" + i, "forgot-filler-" + i, i));
            awaitApplied(assertInstanceOf(CommitOutcome.Committed.class, o, "filler " + i).sequence());
        }
        assertFalse(engine.knowsId("forgot-call#0"), "attempt 0 forgotten from memory");

        CommitOutcome second = VertxContextSupport.subscribeAndAwait(
                () -> engine.commitUnseen(write("forgot-call#1", "forgot-k", 2), lookupOfAttempt1));
        CommitOutcome.Unavailable refused = assertInstanceOf(CommitOutcome.Unavailable.class, second);
        assertTrue(refused.why().contains("forgot idempotency ids"), refused.why());
        assertTrue(engine.knowsId("forgot-call#0"), "attempt 1 claimed attempt 0 as aborted");

        assertEquals(committed, commit(write("forgot-call#0", "forgot-k", 1)), "the retry of attempt 0 gets its commit");
        Response status = given().get("/v1/transactions/forgot-call");
        assertEquals(200, status.statusCode(), status.asString());
        assertEquals(committed.timestamp(), status.jsonPath().getLong("timestamp"));
        assertEquals(committed.timestamp(), Http.version("forgot-k"), "attempt 1 wrote nothing");

        // A plain transaction under the call's id is the call again (one namespace). Memory holds no commit
        // of the call now (attempt 0 forgotten, then claimed as aborted): the store answers, by its row for
        // the call's id.
        assertEquals(committed, commit(write("forgot-call", "forgot-k", 3)), "the call's commit, from the store");
        assertEquals(committed.timestamp(), Http.version("forgot-k"), "the plain transaction wrote nothing");
    }

    /**
     * A call committed at its attempt 2 (attempts 0 and 1 aborted at a mirror, say), and everything about
     * it forgotten from memory, as after a restart: the aborts, and attempt 2's claims of attempts 0 and 1
     * as aborted. A late attempt 0 of the same call (another mirror running it, a retry that lagged) was
     * looked up only under its own id and the ones before it, found nothing, and committed: the call was
     * applied twice. The store's row for the call's id answers it now.
     */
    @Test
    void aLateEarlierAttemptOfACallThatCommittedIsAnsweredByThatCommitOnceForgotten() throws Throwable {
        awaitStatus(s -> "READY".equals(s.getString("state")), "the coordinator READY");
        CommitOutcome.Committed committed = assertInstanceOf(CommitOutcome.Committed.class,
                commit(write("late-call#2", "late-k", 1)));
        awaitApplied(committed.sequence());
        for (int i = 0; i < 8; i++) {
            CommitOutcome o = commit(write("late-filler-" + i, "late-filler-" + i, i));
            awaitApplied(assertInstanceOf(CommitOutcome.Committed.class, o, "filler " + i).sequence());
        }
        assertFalse(engine.knowsId("late-call#2") || engine.knowsId("late-call#0"), "the call forgotten from memory");

        assertEquals(committed, commit(write("late-call#0", "late-other-k", 2)), "attempt 0 gets the call's commit");
        assertEquals(404, Http.get("late-other-k").statusCode(), "attempt 0 wrote nothing");
    }

    /**
     * Attempt 1 of a call in flight (the log slow to acknowledge) has claimed attempt 0 as aborted, and
     * that claim is forgotten from memory while attempt 1 is still being decided (other ids in flight fill
     * the memory). A late attempt 0 of the same call (another mirror running it, a retry that lagged)
     * found neither claim nor commit, in memory or the store, and looked only at a plain transaction
     * under the call's id as a rival: it committed too, and the call was applied twice. It now waits for
     * the later attempt in flight and is answered with its commit.
     */
    @Test
    void aLateEarlierAttemptWhileALaterOneIsInFlightIsAnsweredByItsCommit() throws Exception {
        awaitStatus(s -> "READY".equals(s.getString("state")), "the coordinator READY");
        ExecutorService pool = Executors.newFixedThreadPool(6);
        Future<Response> later;
        Future<Response> late;
        List<Future<Response>> fillers = new ArrayList<>();
        RealServers.nats.pause(); // every append waits for its ack (well within the publish timeout)
        try {
            later = pool.submit(() -> Http.post("/v1/transactions", body("sib-call#1", "sib-k")));
            // attempt 0 claimed as aborted, attempt 1 claimed and appending
            Http.await(() -> engine.knowsId("sib-call#1") && engine.knowsId("sib-call#0"), "attempts 0 and 1 claimed");
            for (int i = 0; i < 4; i++) {
                String id = "sib-filler-" + i;
                fillers.add(pool.submit(() -> Http.post("/v1/transactions", body(id, id))));
            }
            // four more claims in flight: the oldest decided one, attempt 0's, is forgotten
            Http.await(() -> java.util.stream.IntStream.range(0, 4).allMatch(i -> engine.knowsId("sib-filler-" + i)),
                    "the four fillers claimed");
            assertFalse(engine.knowsId("sib-call#0"), "attempt 0's claim forgotten from memory");
            assertTrue(engine.knowsId("sib-call#1"), "attempt 1 still in flight");
            late = pool.submit(() -> Http.post("/v1/transactions", body("sib-call#0", "sib-other-k")));
            Http.await(() -> engine.knowsId("sib-call#0"), "the late attempt 0 claimed, waiting for attempt 1");
        } finally {
            RealServers.nats.resume();
        }
        try {
            Response r1 = later.get(30, TimeUnit.SECONDS);
            assertEquals(200, r1.statusCode(), r1.asString());
            assertEquals("COMMITTED", r1.jsonPath().getString("status"), r1.asString());
            for (Future<Response> f : fillers) {
                assertEquals(200, f.get(30, TimeUnit.SECONDS).statusCode());
            }
            Response r0 = late.get(30, TimeUnit.SECONDS);
            assertEquals(200, r0.statusCode(), r0.asString());
            assertEquals("COMMITTED", r0.jsonPath().getString("status"), r0.asString());
            assertEquals(r1.jsonPath().getLong("timestamp"), r0.jsonPath().getLong("timestamp"),
                    "attempt 0 is answered with attempt 1's commit: " + r0.asString());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(404, Http.get("sib-other-k").statusCode(), "attempt 0 wrote nothing: the call committed once");
    }

    /**
     * A lookup of an id that fails with an error other than a lost connection (here the table is missing;
     * a statement timeout or a busy pool alike) is answered 503, nothing submitted. Only connection errors
     * were mapped to 503: this one reached the client as 500 "internal error".
     */
    @Test
    void anIdLookupThatFailsIsAnswered503AndCommitsNothing() throws Exception {
        awaitStatus(s -> "READY".equals(s.getString("state")), "the coordinator READY");
        Response r;
        try (java.sql.Connection c = AppDatabase.connect(); java.sql.Statement st = c.createStatement()) {
            st.executeUpdate("alter table txn_ids rename to txn_ids_away");
            try {
                r = Http.post("/v1/transactions", body("lookup-fails-1", "lookup-fails-k"));
            } finally {
                st.executeUpdate("alter table txn_ids_away rename to txn_ids");
            }
        }
        assertEquals(503, r.statusCode(), r.asString());
        assertEquals("UNAVAILABLE", r.jsonPath().getString("error"), r.asString());
        assertEquals(404, Http.get("lookup-fails-k").statusCode(), "nothing committed");
        Response again = Http.post("/v1/transactions", body("lookup-fails-1", "lookup-fails-k"));
        assertEquals(200, again.statusCode(), "the retry commits once the store answers: " + again.asString());
    }

    private static String body(String id, String key) {
        return "{\"id\":\"" + id + "\",\"reads\":[],\"writes\":[{\"key\":\"" + key + "\",\"value\":1}]}";
    }

    private CommitOutcome commit(TxnSpec spec) throws Throwable {
        return VertxContextSupport.subscribeAndAwait(() -> engine.commit(spec));
    }

    private static TxnSpec write(String id, String key, int value) {
        return new TxnSpec(id, List.of(), List.of(new TxnSpec.Write(key, String.valueOf(value).getBytes(UTF_8))), "coordinator");
    }
}
