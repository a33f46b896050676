package io.presage.it;

import static io.presage.it.Http.assertUnavailable;
import static io.presage.it.Http.awaitApplied;
import static io.presage.it.Http.awaitStatus;
import static io.presage.it.Http.get;
import static io.presage.it.Http.post;
import static io.presage.it.Http.put;
import static io.presage.it.Http.sequenceOf;
import static io.presage.it.Http.status;
import static io.presage.it.Http.version;
import static io.restassured.RestAssured.given;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.nats.client.JetStreamManagement;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Subscription;
import io.nats.client.api.DiscardPolicy;
import io.nats.client.api.StreamConfiguration;
import io.nats.client.api.StreamInfo;
import io.presage.apply.ItemStore;
import io.presage.certify.Certifier;
import io.presage.certify.Hlc;
import io.presage.coord.CoordinatorEngine;
import io.presage.log.Appended;
import io.presage.log.BatchCodec;
import io.presage.log.JetStreamLog;
import io.presage.log.LogBatch;
import io.presage.log.LogFencedException;
import io.presage.log.LogConfig;
import io.presage.log.LogMessage;
import io.presage.log.LogTxn;
import io.presage.log.LogWrite;
import io.presage.testing.NatsTestServer;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.vertx.VertxContextSupport;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;

/**
 * The coordinator's failure paths against a real nats-server and a real PostgreSQL, no mocks: the log
 * going away, the log refusing an append, a second writer fencing the coordinator, one idempotency id
 * sent many times at once, and an undecodable message in the log.
 *
 * <p>The tests share one application and one log, so they run in a fixed order; the dead-letter test
 * plays the operator at its end (a parked message holds commits and readiness until one has looked).
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true,
        initArgs = @ResourceArg(name = "presage.group-commit.max-unapplied-bytes", value = "64K"))
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CoordinatorFailuresTest {
    private static final String RESYNCS = "presage_coordinator_resyncs_total";

    @Inject
    CoordinatorEngine engine;
    @Inject
    ItemStore store;

    /** Recovered and taking commits. */
    @BeforeEach
    void ready() {
        awaitStatus(s -> "READY".equals(s.getString("state")), "the coordinator READY");
    }

    // ---- idempotent ids -----------------------------------------------------------------------

    @Test
    @Order(1)
    void oneIdSentConcurrentlyCommitsOnceAndItsOutcomeOutlivesTheCoordinatorsMemory() throws Throwable {
        String id = "idem-concurrent-1";
        String body = "{\"id\":\"" + id + "\",\"reads\":[],\"writes\":[{\"key\":\"idem-k\",\"value\":{\"n\":1}}]}";
        List<Response> answers = concurrently(8, () -> post("/v1/transactions", body));

        Set<Long> timestamps = new HashSet<>();
        Set<String> tokens = new HashSet<>();
        for (Response r : answers) {
            assertEquals(200, r.statusCode(), r.asString());
            assertEquals("COMMITTED", r.jsonPath().getString("status"));
            timestamps.add(r.jsonPath().getLong("timestamp"));
            tokens.add(r.jsonPath().getString("token"));
        }
        assertEquals(1, timestamps.size(), "every answer reports the one commit: " + timestamps);
        assertEquals(1, tokens.size(), "in one log message: " + tokens);
        long ts = timestamps.iterator().next();
        long seq = sequenceOf(answers.get(0));
        assertEquals(ts, version("idem-k"), "the item carries that commit's version");
        try (JetStreamLog log = secondWriter()) {
            assertEquals(1, logTxns(log).stream().filter(t -> id.equals(t.id())).count(), "one transaction in the log");
        }

        // The applier records the id with the items, so it survives the coordinator's memory.
        awaitApplied(seq);
        ItemStore.TxnRecord stored = VertxContextSupport.subscribeAndAwait(() -> store.findTxn(id));
        assertEquals(new ItemStore.TxnRecord(id, ts, false, seq, null), stored);

        // A rebuild forgets in-memory ids and replays only what the store lacks: the retry is
        // answered from txn_ids, with the first outcome, and commits nothing new.
        try (JetStreamLog log = secondWriter()) {
            forceResync(log, "idem-intruder");
            Response retry = post("/v1/transactions", body);
            assertEquals(200, retry.statusCode(), retry.asString());
            assertEquals(ts, retry.jsonPath().getLong("timestamp"));
            assertEquals(seq, sequenceOf(retry));
            assertEquals(1, logTxns(log).stream().filter(t -> id.equals(t.id())).count(), "still one transaction");
        }
    }

    @Test
    @Order(1)
    void whileTheDatabaseCannotSayWhetherAnIdCommittedBeforeTheCommitGets503AndGoesThroughOnceItCan() throws Exception {
        String id = "idem-held-1";
        String body = "{\"id\":\"" + id + "\",\"reads\":[],\"writes\":[{\"key\":\"idem-held-k\",\"value\":1}]}";
        try (Connection hold = lockingConnection()) {
            lock(hold, "lock table txn_ids in access exclusive mode"); // the id lookup waits behind it
            Response r = timedCommit(() -> post("/v1/transactions", body));
            assertTrue(r.jsonPath().getString("message").contains("did not say in time"), r.asString());
            assertEquals(0, version("idem-held-k"), "nothing committed while the answer was unknown");
            hold.rollback();
        }
        Response ok = post("/v1/transactions", body);
        assertEquals(200, ok.statusCode(), ok.asString());
        try (JetStreamLog log = secondWriter()) {
            assertEquals(1, logTxns(log).stream().filter(t -> id.equals(t.id())).count(), "committed once");
        }
    }

    /**
     * A client that gives up on a commit (it closes its connection while the log is slow to answer)
     * must not make the coordinator forget the id: the commit goes on, and a retry under the id waits
     * for it and reports it. Cancelling the wait used to cancel the answer the idempotency cache held
     * for the id, the cache dropped the id, and the retry committed a second time.
     */
    @Test
    @Order(1)
    void aClientThatHangsUpLeavesItsIdKnownAndTheRetryReportsTheOneCommit() throws Exception {
        String id = "idem-hangup-1";
        String body = "{\"id\":\"" + id + "\",\"reads\":[],\"writes\":[{\"key\":\"idem-hangup-k\",\"value\":1}]}";
        int port = io.restassured.RestAssured.port;
        NatsTestServer nats = RealServers.nats;
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Future<Response> retry;
        nats.pause(); // the append waits for its ack (well within the publish timeout)
        try {
            RawHttp.hangUp(port, "POST /v1/transactions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.getBytes(UTF_8).length + "\r\n\r\n" + body, 300);
            Thread.sleep(200); // the server sees the connection closed and cancels that request's wait
            retry = pool.submit(() -> post("/v1/transactions", body));
            Thread.sleep(200);
        } finally {
            nats.resume();
        }
        try {
            Response r = retry.get(30, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.asString());
            assertEquals(version("idem-hangup-k"), r.jsonPath().getLong("timestamp"));
        } finally {
            pool.shutdownNow();
        }
        try (JetStreamLog log = secondWriter()) {
            assertEquals(1, logTxns(log).stream().filter(t -> id.equals(t.id())).count(), "committed once");
        }
    }

    /**
     * A mirror's attempt "x#0" that meets a plain transaction "x" in flight waits for it with its own
     * claim held. Its client giving up (the mirror's request timing out while the log is slow) must
     * not leave that claim in flight for ever: the plain one commits, and the mirror's resend of the
     * attempt is answered with that commit. The claim used to be completed only by the waiting
     * request's own continuation, which the hang-up cancelled: the id stayed in flight, every resend
     * of it was answered 504 after the commit timeout, and the cache could never forget it.
     */
    @Test
    @Order(1)
    void anAttemptWhoseClientHangsUpWhileWaitingForAPlainTransactionLeavesItsIdFree() throws Exception {
        String plain = plainUnder("idem-hangup-ns");
        String attempt = attemptOf("idem-hangup-ns");
        int port = io.restassured.RestAssured.port;
        NatsTestServer nats = RealServers.nats;
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Future<Response> first;
        nats.pause(); // the plain transaction's append waits for its ack (well within the publish timeout)
        try {
            first = pool.submit(() -> post("/v1/transactions", plain));
            awaitClaimed("idem-hangup-ns"); // claimed and appending
            RawHttp.hangUp(port, "POST /v1/transactions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + attempt.getBytes(UTF_8).length + "\r\n\r\n" + attempt, 300);
            Thread.sleep(200); // the server sees the connection closed and cancels that request's wait
        } finally {
            nats.resume();
        }
        long ts;
        try {
            Response r = first.get(30, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.asString());
            ts = r.jsonPath().getLong("timestamp");
        } finally {
            pool.shutdownNow();
        }
        Response resent = post("/v1/transactions", attempt);
        assertEquals(200, resent.statusCode(), "the attempt's id is free again: " + resent.asString());
        assertEquals(ts, resent.jsonPath().getLong("timestamp"), "answered with the plain commit");
        assertNull(resent.jsonPath().get("result"), "a plain commit has no result: " + resent.asString());
        assertEquals(0, version("idem-hangup-ns-b"), "the attempt did not commit");
    }

    /**
     * A repeat of an attempt (a mirror sending "x#0" again) that waits for the first send, which
     * itself waits for a plain transaction "x" in flight, is answered with the plain one's commit, as
     * the first send is. It used to get the first send's yielded claim, a 503 saying a procedure call
     * was being decided, though nothing was left to decide.
     */
    @Test
    @Order(1)
    void aRepeatedAttemptWaitingOnOneThatYieldedToAPlainCommitIsAnsweredThatCommit() throws Exception {
        String plain = plainUnder("idem-repeat-ns");
        String attempt = attemptOf("idem-repeat-ns");
        NatsTestServer nats = RealServers.nats;
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<Response>> answers = new ArrayList<>();
        nats.pause(); // the plain transaction's append waits for its ack (well within the publish timeout)
        try {
            answers.add(pool.submit(() -> post("/v1/transactions", plain)));
            awaitClaimed("idem-repeat-ns"); // claimed and appending
            answers.add(pool.submit(() -> post("/v1/transactions", attempt))); // waits for the plain one
            Thread.sleep(300);
            answers.add(pool.submit(() -> post("/v1/transactions", attempt))); // waits for the first send
            Thread.sleep(300);
        } finally {
            nats.resume();
        }
        try {
            Set<Long> timestamps = new HashSet<>();
            for (Future<Response> f : answers) {
                Response r = f.get(30, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.asString());
                timestamps.add(r.jsonPath().getLong("timestamp"));
            }
            assertEquals(1, timestamps.size(), "one commit answers all three: " + timestamps);
        } finally {
            pool.shutdownNow();
        }
        assertEquals(0, version("idem-repeat-ns-b"), "the attempt did not commit");
    }

    /**
     * A call under an id whose plan refuses because another run of the same call committed while the call
     * looked for it: a mirror's attempt {@code id#0}, in flight (undecided) when the call asked memory, and
     * acknowledged before the call read. That commit is the call's answer. It was 409 INSUFFICIENT_FUNDS,
     * remembered as the call's outcome, and a client told so would send the call again under a new id and
     * pay twice. Held here: the attempt in flight with the log frozen, the call's store lookup behind a lock
     * until the attempt has been acknowledged.
     */
    @Test
    @Order(1)
    void aCallThatRefusesBecauseAnotherRunOfItCommittedMeanwhileIsAnsweredThatCommit() throws Exception {
        assertEquals(200, put("idem-paid-from", "100").statusCode());
        assertEquals(200, put("idem-paid-to", "0").statusCode());
        String otherRun = "{\"id\":\"idem-paid#0\",\"reads\":[],\"writes\":[{\"key\":\"idem-paid-from\",\"value\":0},"
                + "{\"key\":\"idem-paid-to\",\"value\":100}],\"result\":{\"moved\":100}}";
        String call = "{\"from\":\"idem-paid-from\",\"to\":\"idem-paid-to\",\"amount\":100}";
        NatsTestServer nats = RealServers.nats;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Connection hold = lockingConnection()) {
            Future<Response> other;
            Future<Response> called;
            nats.pause();
            try {
                other = pool.submit(() -> post("/v1/transactions", otherRun));
                Thread.sleep(300); // looked up (absent), certified, appending: undecided
                lock(hold, "lock table txn_ids in access exclusive mode");
                called = pool.submit(() -> post("/v1/procedures/transfer?id=idem-paid", call));
                awaitLookupWaiting(); // the call found nothing in memory and asks the store
            } finally {
                nats.resume();
            }
            Response first = other.get(30, TimeUnit.SECONDS);
            assertEquals(200, first.statusCode(), first.asString());
            hold.rollback(); // the call's lookup goes on, and finds nothing: the applier's row was behind the lock too
            Response r = called.get(30, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), "the call committed, as idem-paid#0: " + r.asString());
            assertEquals(first.jsonPath().getLong("timestamp"), r.jsonPath().getLong("timestamp"), r.asString());
            assertEquals(100, r.jsonPath().getInt("result.moved"), "the commit's result: " + r.asString());
        } finally {
            pool.shutdownNow();
        }
        Response again = post("/v1/procedures/transfer?id=idem-paid", call);
        assertEquals(200, again.statusCode(), "a retry is answered the same: " + again.asString());
        assertEquals("100", get("idem-paid-to").jsonPath().getString("value"), "moved once");
    }

    /**
     * A call whose plan refuses while another run of it is in flight here (a mirror's attempt {@code id#0},
     * appended but not yet acknowledged) waits for that run: it commits, so the call ran, and its commit
     * is the answer. The look after a refusal skipped claims in flight: the call was answered 409
     * INSUFFICIENT_FUNDS and the refusal remembered, then the attempt committed, so a client told "refused"
     * would pay again under a new id. {@code GET /v1/transactions/{id}} likewise said 404 for it while in
     * flight; it waits for it too.
     */
    @Test
    @Order(1)
    void aCallThatRefusesWhileAnotherRunOfItIsInFlightIsAnsweredThatRunsCommit() throws Exception {
        assertEquals(200, put("idem-inflight-from", "0").statusCode());
        String otherRun = "{\"id\":\"idem-inflight#0\",\"reads\":[],\"writes\":[{\"key\":\"idem-inflight-to\",\"value\":5}],"
                + "\"result\":{\"moved\":5}}";
        String call = "{\"from\":\"idem-inflight-from\",\"to\":\"idem-inflight-to\",\"amount\":5}";
        NatsTestServer nats = RealServers.nats;
        ExecutorService pool = Executors.newFixedThreadPool(3);
        try {
            Future<Response> other;
            Future<Response> called;
            Future<Response> asked;
            nats.pause();
            try {
                other = pool.submit(() -> post("/v1/transactions", otherRun));
                Thread.sleep(300); // certified, appending: undecided
                assertTrue(engine.knowsId("idem-inflight#0"), "the other run is in flight");
                called = pool.submit(() -> post("/v1/procedures/transfer?id=idem-inflight", call));
                asked = pool.submit(() -> given().get("/v1/transactions/{id}", "idem-inflight"));
                Thread.sleep(500); // the call's plan has refused (the balance is 0)
                assertFalse(called.isDone(), "the call waits for the run in flight: " + (called.isDone() ? called.get().asString() : ""));
                assertFalse(asked.isDone(), "the lookup waits for it too");
            } finally {
                nats.resume();
            }
            Response first = other.get(30, TimeUnit.SECONDS);
            assertEquals(200, first.statusCode(), first.asString());
            Response r = called.get(30, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), "the call committed, as idem-inflight#0: " + r.asString());
            assertEquals(first.jsonPath().getLong("timestamp"), r.jsonPath().getLong("timestamp"), r.asString());
            assertEquals(5, r.jsonPath().getInt("result.moved"), "that run's result: " + r.asString());
            Response a = asked.get(30, TimeUnit.SECONDS);
            assertEquals(200, a.statusCode(), "the id committed: " + a.asString());
            assertEquals(first.jsonPath().getLong("timestamp"), a.jsonPath().getLong("timestamp"), a.asString());
        } finally {
            pool.shutdownNow();
        }
        Response again = post("/v1/procedures/transfer?id=idem-inflight", call);
        assertEquals(200, again.statusCode(), "a retry is answered the same, no refusal remembered: " + again.asString());
    }

    /** Until this coordinator holds a claim of {@code id} (a request sent on another thread got that far). */
    private void awaitClaimed(String id) throws InterruptedException {
        Http.await(() -> engine.knowsId(id), id + " claimed");
    }

    /** A plain transaction under id {@code call}, writing {@code <call>-a}. */
    private static String plainUnder(String call) {
        return "{\"id\":\"" + call + "\",\"reads\":[],\"writes\":[{\"key\":\"" + call + "-a\",\"value\":1}]}";
    }

    /** A mirror's attempt 0 of call {@code call} (its id {@code <call>#0}, with a result), writing {@code <call>-b}. */
    private static String attemptOf(String call) {
        return "{\"id\":\"" + call + "#0\",\"reads\":[],\"writes\":[{\"key\":\"" + call + "-b\",\"value\":2}],"
                + "\"result\":{\"n\":2}}";
    }

    /**
     * A rebuild forgets the ids in memory and puts back only those past what the store applied. An id
     * whose store lookup was under way meanwhile may have been applied after the lookup's snapshot, and
     * would then be nowhere the claim looks: such a lookup's "not found" is not trusted. (The lookup is
     * held here with a lock; the case it guards against is a commit applied in the lookup's few
     * milliseconds, which a test cannot time.)
     */
    @Test
    @Order(1)
    void anIdLookupThatSpansARebuildIsNotTrustedAndTheRetryCommitsOnce() throws Exception {
        String id = "idem-rebuilt-1";
        String body = "{\"id\":\"" + id + "\",\"reads\":[],\"writes\":[{\"key\":\"idem-rebuilt-k\",\"value\":1}]}";
        long resyncs = (long) metric(RESYNCS);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (Connection hold = lockingConnection(); JetStreamLog log = secondWriter()) {
            lock(hold, "lock table txn_ids in access exclusive mode"); // the id lookup waits behind it
            Future<Response> looking = pool.submit(() -> post("/v1/transactions", body));
            awaitLookupWaiting();
            forceResync(log, "idem-rebuilt-intruder");
            hold.rollback();
            Response r = looking.get(30, TimeUnit.SECONDS);
            assertUnavailable(r);
            assertTrue(r.jsonPath().getString("message").contains("rebuilt its state while looking the id up"), r.asString());
            assertEquals(resyncs + 1, (long) metric(RESYNCS), "one rebuild");
        } finally {
            pool.shutdownNow();
        }
        Response ok = post("/v1/transactions", body);
        assertEquals(200, ok.statusCode(), ok.asString());
        try (JetStreamLog log = secondWriter()) {
            assertEquals(1, logTxns(log).stream().filter(t -> id.equals(t.id())).count(), "committed once");
        }
    }

    /** Until the database shows a query on txn_ids waiting for a lock. */
    /**
     * A procedure call answers within the commit timeout (5 s here) as a whole, as a transaction under an id
     * does. One that waited for its turn behind a call whose id lookup the store did not answer, then for its
     * own lookup, took a timeout for each: 10 s, long after a mirror forwarding it had given up.
     */
    @Test
    @Order(1)
    void aCallBehindOneTheStoreIsSlowToLookUpIsAnsweredWithinTheCommitTimeout() throws Exception {
        String body = "{\"key\":\"slow-turn-ctr\"}";
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try (Connection hold = lockingConnection()) {
            lock(hold, "lock table txn_ids in access exclusive mode");
            Future<Response> ahead = pool.submit(() -> post("/v1/procedures/increment?id=slow-turn-1", body));
            awaitLookupWaiting(); // its turn taken, its lookup behind the lock
            long start = System.nanoTime();
            Response behind = pool.submit(() -> post("/v1/procedures/increment?id=slow-turn-2", body)).get(30, TimeUnit.SECONDS);
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            hold.rollback();
            assertTrue(millis < 7_500, "answered " + millis + " ms after it was sent; the commit timeout is 5 s");
            assertEquals(503, behind.statusCode(), behind.asString());
            assertTrue(behind.jsonPath().getString("message").contains("nothing was committed"), behind.asString());
            assertEquals(503, ahead.get(30, TimeUnit.SECONDS).statusCode());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(404, get("slow-turn-ctr").statusCode(), "neither call ran");
    }

    private static void awaitLookupWaiting() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (countRows("select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query like '%txn_ids%'") == 0) {
            assertTrue(System.nanoTime() < deadline, "an id lookup waits for the lock");
            Http.sleep(10);
        }
    }

    // ---- the log goes away --------------------------------------------------------------------

    @Test
    @Order(2)
    void whileTheLogIsDownCommitsGet503AndLeaveNoTraceOnceItIsBack() throws Exception {
        NatsTestServer nats = RealServers.nats;
        assertNotNull(nats, "RealServers exposes its nats-server");
        Response before = put("down-k", "\"before\"");
        long v1 = before.jsonPath().getLong("timestamp");
        awaitApplied(sequenceOf(before));

        nats.stop();
        try {
            // A commit sent while the server was going down may have been stored: it is answered 504, and
            // may land. This test is of a log known to be down, where nothing can land: 503.
            awaitLogDown();
            Response first = timedCommit(() -> put("down-k", "\"failed-while-down\""));
            assertTrue(first.jsonPath().getString("message").startsWith("the log did not accept the commit"),
                    "certified, then refused at the append: " + first.asString());
            timedCommit(() -> put("down-new", "\"failed-while-down\""));
            timedCommit(() -> post("/v1/transactions", "{\"reads\":[{\"key\":\"down-k\",\"version\":" + v1 + "}],"
                    + "\"writes\":[{\"key\":\"down-other\",\"value\":\"failed-while-down\"}]}"));
            timedCommit(() -> given().delete("/v1/kv/{k}", "down-k"));
            timedCommit(() -> post("/v1/procedures/increment", "{\"key\":\"down-counter\"}"));
            // Reads need no log: the last acknowledged value is still served.
            Response during = get("down-k");
            assertEquals(200, during.statusCode(), during.asString());
            assertEquals(v1, during.jsonPath().getLong("version"));
        } finally {
            if (!nats.isRunning()) {
                nats.restart(); // same port, same store
            }
        }
        Http.awaitReady(Duration.ofSeconds(60));

        // Nothing of the failed commits is readable: single reads, batch reads, the database.
        assertEquals("before", get("down-k").jsonPath().getString("value"));
        assertEquals(v1, version("down-k"));
        get("down-new").then().statusCode(404);
        assertEquals(0, version("down-new"));
        JsonPath batch = post("/v1/kv/_batch", "{\"keys\":[\"down-k\",\"down-new\",\"down-other\",\"down-counter\"]}")
                .jsonPath();
        assertEquals(v1, batch.getLong("items[0].version"));
        for (int i = 1; i < 4; i++) {
            assertFalse(batch.getBoolean("items[" + i + "].found"), batch.prettify());
            assertEquals(0, batch.getLong("items[" + i + "].version"));
        }
        awaitApplied(status().getLong("committedSequence"));
        assertEquals("\"before\"", AppDatabase.storedValue("down-k"));
        assertNull(AppDatabase.storedValue("down-new"));
        assertNull(AppDatabase.storedValue("down-other"));
        assertNull(AppDatabase.storedValue("down-counter"));
        assertEquals(0, countRows("select count(*) from items where item_value like '%failed-while-down%'"));
        // Nor is anything in the stream: an append the client was told failed never lands later.
        try (JetStreamLog log = secondWriter()) {
            for (LogTxn t : logTxns(log)) {
                for (LogWrite w : t.writes()) {
                    assertFalse(w.key().startsWith("down-") && !w.key().equals("down-k"), "no write of " + w.key());
                    assertFalse(w.valueJson() != null && new String(w.valueJson(), UTF_8).contains("failed-while-down"),
                            "no failed value in the log: " + w);
                }
            }
        }
        // The certifier holds no trace either: a read of the version before the failed write is
        // current, so it commits at a fresh timestamp (a stale read would be placed in the past).
        Response after = post("/v1/transactions", "{\"reads\":[{\"key\":\"down-k\",\"version\":" + v1 + "}],"
                + "\"writes\":[{\"key\":\"down-k\",\"value\":\"after\"}]}");
        assertEquals(200, after.statusCode(), after.asString());
        assertFalse(after.jsonPath().getBoolean("adjusted"), after.asString());
        assertTrue(after.jsonPath().getLong("timestamp") > v1);
        assertEquals("after", get("down-k").jsonPath().getString("value"));
    }

    /**
     * An append the log never confirms may still land: a paused server acts on what its socket holds
     * once it resumes. So its client is told 504 (not known), not 503 (not committed, retry is safe):
     * here the commit does land, and a retry under the same id reports it instead of committing again.
     */
    @Test
    @Order(2)
    void anAppendTheLogNeverConfirmedIsAnswered504AndTheRetryUnderItsIdFindsItLanded() throws Exception {
        String id = "unconfirmed-1";
        String body = "{\"id\":\"" + id + "\",\"reads\":[],\"writes\":[{\"key\":\"unconfirmed-k\",\"value\":1}]}";
        NatsTestServer nats = RealServers.nats;
        Response first;
        nats.pause(); // for longer than the publish timeout and its retry
        try {
            first = post("/v1/transactions", body);
        } finally {
            nats.resume();
        }
        assertEquals(504, first.statusCode(), first.asString());
        assertEquals("TIMEOUT", first.jsonPath().getString("error"), first.asString());
        try (JetStreamLog log = secondWriter()) {
            long landed = 0;
            for (int i = 0; i < 100 && landed == 0; i++) {
                landed = logTxns(log).stream().filter(t -> id.equals(t.id())).count();
                Http.sleep(100);
            }
            assertEquals(1, landed, "the append the log never confirmed landed once the server resumed: a 503 would have lied");
        }

        Response retry = retryOnceTheLogIsBack(body);
        try (JetStreamLog log = secondWriter()) {
            assertEquals(1, logTxns(log).stream().filter(t -> id.equals(t.id())).count(), "committed once: " + retry.asString());
        }
        assertEquals(retry.jsonPath().getLong("timestamp"), version("unconfirmed-k"));
    }

    /**
     * A commit under an id answers within the commit timeout as a whole, as the README says of every
     * commit: here its id lookup waits behind a lock for most of the timeout, and the log it then goes
     * to does not answer. Each step was bounded by the timeout on its own, so the answer came after
     * both (about 1.8 times the timeout here). It is 504, not 503: the commit was submitted and may
     * still land, and the retry under the id finds it once.
     */
    @Test
    @Order(2)
    void aCommitUnderAnIdAnswersWithinTheCommitTimeoutWhenItsLookupTookMostOfIt() throws Exception {
        String id = "deadline-1";
        String body = "{\"id\":\"" + id + "\",\"reads\":[],\"writes\":[{\"key\":\"deadline-k\",\"value\":1}]}";
        Duration timeout = config().getValue("presage.group-commit.timeout", Duration.class);
        NatsTestServer nats = RealServers.nats;
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Response first;
        Duration took;
        try (Connection hold = lockingConnection()) {
            lock(hold, "lock table txn_ids in access exclusive mode"); // the id lookup waits behind it
            long start = System.nanoTime();
            Future<Response> answer = pool.submit(() -> post("/v1/transactions", body));
            awaitLookupWaiting();
            Http.sleep(Math.max(0, timeout.toMillis() * 4 / 5 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)));
            nats.pause(); // before the lookup answers: the commit it lets through meets a log that does not answer
            try {
                hold.rollback();
                first = answer.get(30, TimeUnit.SECONDS);
                took = Duration.ofNanos(System.nanoTime() - start);
            } finally {
                nats.resume();
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(504, first.statusCode(), first.asString());
        assertEquals("TIMEOUT", first.jsonPath().getString("error"), first.asString());
        assertTrue(took.compareTo(timeout.plusMillis(1500)) < 0, "answered in " + took + ", timeout " + timeout);

        Response retry = retryOnceTheLogIsBack(body);
        try (JetStreamLog log = secondWriter()) {
            assertEquals(1, logTxns(log).stream().filter(t -> id.equals(t.id())).count(), "committed once: " + retry.asString());
        }
    }

    /** {@code body} posted again until it is not 503 (the coordinator recovers from the log's outage): 200. */
    private static Response retryOnceTheLogIsBack(String body) {
        Response retry = null;
        for (int i = 0; i < 120 && (retry == null || retry.statusCode() == 503); i++) {
            awaitStatus(s -> "READY".equals(s.getString("state")), "READY after the log came back");
            retry = post("/v1/transactions", body);
        }
        assertEquals(200, retry.statusCode(), retry.asString());
        return retry;
    }

    // ---- the log refuses an append ------------------------------------------------------------

    @Test
    @Order(3)
    void aRefusedAppendIsUndoneInTheLiveCertifierWithoutARebuild() throws Exception {
        Response seed = put("ref-k", "\"before\"");
        long v1 = seed.jsonPath().getLong("timestamp");
        Certifier certifier = engine.certifier();
        double resyncs = metric(RESYNCS);
        long committed = status().getLong("committedSequence");
        assertEquals(sequenceOf(seed), committed);

        try (io.nats.client.Connection nc = Nats.connect(natsUrl())) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            StreamInfo info = jsm.getStreamInfo(config().getValue("presage.nats.stream", String.class));
            StreamConfiguration original = info.getConfiguration();
            // The stream is full and refuses new messages: every append fails for certain, while
            // the stream itself stays readable, so group commit can tell nothing landed.
            jsm.updateStream(StreamConfiguration.builder(original)
                    .maxMessages(info.getStreamState().getMsgCount()).discardPolicy(DiscardPolicy.New).build());
            try {
                Response refused = timedCommit(() -> put("ref-k", "\"refused\""));
                assertTrue(refused.jsonPath().getString("message").startsWith("the log did not accept the commit"),
                        refused.asString());
                timedCommit(() -> post("/v1/transactions", "{\"reads\":[{\"key\":\"ref-k\",\"version\":" + v1 + "}],"
                        + "\"writes\":[{\"key\":\"ref-w\",\"value\":\"refused\"}]}"));
                // Several at once: messages pipelined behind a refused one are undone with it.
                for (Response r : concurrently(8, () -> put("ref-k", "\"refused-burst\""))) {
                    assertUnavailable(r);
                }
            } finally {
                jsm.updateStream(original);
            }
        }

        assertEquals("READY", status().getString("state"));
        assertSame(certifier, engine.certifier(), "the same certifier carries on: nothing was rebuilt");
        assertEquals(resyncs, metric(RESYNCS), "no resync");
        assertEquals(v1, version("ref-k"));
        assertEquals(0, version("ref-w"));
        // Had a refused write stayed in the certifier, this read would be stale (adjusted or aborted).
        Response after = post("/v1/transactions", "{\"reads\":[{\"key\":\"ref-k\",\"version\":" + v1 + "}],"
                + "\"writes\":[{\"key\":\"ref-k\",\"value\":\"after\"}]}");
        assertEquals(200, after.statusCode(), after.asString());
        assertFalse(after.jsonPath().getBoolean("adjusted"), after.asString());
        assertEquals(committed + 1, sequenceOf(after), "the next message follows the last acknowledged one");
        assertEquals("after", get("ref-k").jsonPath().getString("value"));
    }

    // ---- fencing: a second writer -------------------------------------------------------------

    @Test
    @Order(4)
    void aSecondWriterFencesTheCoordinatorWhichRebuildsFromTheLog() throws Exception {
        Response seed = put("fence-seed", "1");
        awaitApplied(sequenceOf(seed));
        double resyncs = metric(RESYNCS);
        long foreignTs = new Hlc().next();

        try (Connection holdItems = lockingConnection(); Connection holdPosition = lockingConnection();
                JetStreamLog intruder = secondWriter()) {
            // The applier cannot write items, so the foreign value can only come from the log replay;
            // recovery cannot read the applied position, so RECOVERING stays visible until released.
            lock(holdItems, "lock table items in exclusive mode");
            lock(holdPosition, "lock table apply_state in access exclusive mode");

            long foreignSeq = append(intruder, batchWriting("fence-foreign", "{\"by\":\"intruder\"}", foreignTs),
                    "intruder-fence");
            Response fenced = timedCommit(() -> put("fence-mine", "\"fenced\""));
            assertTrue(fenced.jsonPath().getString("message").startsWith("the log did not accept the commit"),
                    "refused by JetStream, not silently lost: " + fenced.asString());

            awaitStatus(s -> "RECOVERING".equals(s.getString("state")), "RECOVERING");
            assertUnavailable(put("fence-during", "1"));
            holdPosition.rollback();
            awaitStatus(s -> "READY".equals(s.getString("state")), "READY again");

            assertEquals(foreignSeq + 1, status().getLong("committedSequence"),
                    "rebuilt up to the foreign message, then appended its barrier");
            // A writer that still believes the log ends at the foreign message (the coordinator this one
            // took over from, its lease run out, say) is fenced by the barrier: none of its commits can
            // land behind the reads this coordinator now serves.
            ExecutionException zombie = assertThrows(ExecutionException.class, () -> intruder.append(JetStreamLog.subjectFor(0),
                    batchWriting("fence-zombie", "1", new Hlc().next()), "intruder-zombie", foreignSeq).get(10, TimeUnit.SECONDS));
            assertInstanceOf(LogFencedException.class, zombie.getCause());
            assertNull(AppDatabase.storedValue("fence-foreign"), "not applied yet: the database is held");
            Response foreign = get("fence-foreign");
            assertEquals(200, foreign.statusCode(), foreign.asString());
            assertEquals("intruder", foreign.jsonPath().getString("value.by"), "served from the replayed log");
            assertEquals(foreignTs, foreign.jsonPath().getLong("version"));
            assertEquals(0, version("fence-mine"), "the fenced write is nowhere");

            Response next = put("fence-after", "1");
            assertEquals(200, next.statusCode(), next.asString());
            assertEquals(foreignSeq + 2, sequenceOf(next), "appends follow the barrier");
            holdItems.rollback();
            awaitApplied(sequenceOf(next));
        }
        assertEquals(resyncs + 1, metric(RESYNCS), "one resync");
        assertEquals("{\"by\":\"intruder\"}", AppDatabase.storedValue("fence-foreign").replace(" ", ""));
        assertNull(AppDatabase.storedValue("fence-mine"));
        assertEquals(0, version("fence-during"));
    }

    @Test
    @Order(4)
    void aRebuiltCoordinatorsClockStartsAboveAReadOnlyCommitAlreadyApplied() throws Exception {
        // A read-only transaction committed by a coordinator whose clock ran ten minutes ahead: it writes
        // no item, so only apply_state.max_ts remembers its timestamp once it is applied.
        long ahead = Hlc.fromUnixMillis(System.currentTimeMillis() + 600_000);
        try (JetStreamLog intruder = secondWriter()) {
            LogTxn readOnly = new LogTxn(ahead, null, false, "intruder", List.of(), Map.of("intruder", ahead),
                    List.of("ro-read"));
            long seq = append(intruder, new BatchCodec().encode(LogBatch.of("intruder", 1, 0, 2, List.of(readOnly))),
                    "intruder-read-only");
            awaitApplied(seq); // in the applied part of the log: the rebuild does not replay it
            forceResync(intruder, "ro-resync");
        }
        Response next = put("ro-read", "1");
        assertEquals(200, next.statusCode(), next.asString());
        assertTrue(next.jsonPath().getLong("timestamp") > ahead,
                "a write to a key the read-only transaction read was placed before it: " + next.jsonPath().getLong("timestamp")
                        + " <= " + ahead);
    }

    // ---- the database falling behind: backpressure, not an exhausted heap ----------------------

    @Test
    @Order(5)
    void whileTheDatabaseIsHeldCommitsGet503OnceTheUnappliedBudgetIsFullAndResumeWhenItCatchesUp() throws Exception {
        // Values of ~4 kB against the test's 64 kB budget: about fifteen commits wait in memory at most.
        String value = "\"" + "v".repeat(3_990) + "\"";
        int committed = 0;
        Response refused = null;
        String behind = "reason=\"DATABASE_BEHIND\"";
        double countedBefore = metric("presage_commits_total", behind);
        try (Connection holdItems = lockingConnection()) {
            lock(holdItems, "lock table items in exclusive mode"); // the applier cannot store anything
            for (int i = 0; i < 200 && refused == null; i++) {
                Response r = put("held-" + i, value);
                if (r.statusCode() == 200) {
                    committed++;
                } else {
                    refused = r;
                }
            }
            assertNotNull(refused, "commits refused before the unapplied writes outgrow the budget");
            assertUnavailable(refused);
            assertTrue(refused.jsonPath().getString("message").startsWith("the coordinator's database is behind the log"),
                    refused.asString());
            assertTrue(committed >= 10 && committed <= 20, "about 64 kB of 4 kB commits first: " + committed);
            assertEquals(countedBefore + 1, metric("presage_commits_total", behind), "the refusal is counted, with its reason");
            assertTrue(status().getLong("appliedSequence") < status().getLong("committedSequence"), "nothing applied meanwhile");
            Response read = get("held-0");
            assertEquals(200, read.statusCode(), "reads still see every acknowledged commit: " + read.asString());
            holdItems.rollback();
        }
        awaitApplied(status().getLong("committedSequence"));
        Response after = put("held-after", value);
        assertEquals(200, after.statusCode(), "accepted again once the database caught up: " + after.asString());
        assertEquals(3_990, AppDatabase.storedValue("held-" + (committed - 1)).length() - 2, "the last accepted commit is stored");
        assertNull(AppDatabase.storedValue("held-" + committed), "the refused one is nowhere");
    }

    // ---- dead letters -------------------------------------------------------------------------

    @Test
    @Order(6)
    void anUndecodableMessageIsParkedReportedAndSkippedWhileLaterOnesApply() throws Exception {
        byte[] garbage = "this is not a log batch".getBytes(UTF_8);
        String deadLetterSubject = config().getValue("presage.apply.dead-letter-subject", String.class);
        double parkedBefore = metric("presage_dead_letters_total");
        assertEquals(0.0, parkedBefore);

        try (io.nats.client.Connection nc = Nats.connect(natsUrl()); JetStreamLog intruder = secondWriter()) {
            Subscription parked = nc.subscribe(deadLetterSubject);
            nc.flush(Duration.ofSeconds(5));
            long garbageSeq = append(intruder, garbage, "garbage-1");

            awaitStatus(s -> s.getLong("deadLetters") == 1, "the garbage parked");
            Message m = parked.nextMessage(Duration.ofSeconds(10));
            assertNotNull(m, "published on " + deadLetterSubject);
            assertArrayEquals(garbage, m.getData());
            assertEquals(Long.toString(garbageSeq), m.getHeaders().getFirst("Presage-Sequence"));

            Response ready = given().get("/q/health/ready");
            assertEquals(503, ready.statusCode(), ready.asString());
            assertEquals("DOWN", ready.jsonPath().getString("checks.find { it.name == 'applier' }.status"));
            assertEquals(1, ready.jsonPath().getInt("checks.find { it.name == 'applier' }.data.deadLetters"));
            try (Connection db = AppDatabase.connect(); Statement s = db.createStatement();
                    ResultSet rs = s.executeQuery("select seq, subject, data from dead_letters")) {
                assertTrue(rs.next(), "a dead_letters row");
                assertEquals(garbageSeq, rs.getLong(1));
                assertEquals(JetStreamLog.subjectFor(0), rs.getString(2));
                assertArrayEquals(garbage, rs.getBytes(3));
                assertFalse(rs.next(), "exactly one");
            }
            assertEquals(1.0, metric("presage_dead_letters_total"));

            // Fenced by the foreign message, the coordinator rebuilds, and takes no commit while the
            // message is parked: it cannot know what the message wrote (CoordinatorEngine.replay).
            assertUnavailable(put("dl-after", "7"));
            awaitStatus(s -> s.getString("detail").contains("parked in dead_letters;"), "recovery waiting on the parked message");
            assertNotEquals("READY", status().getString("state"));
            assertUnavailable(put("dl-after", "7"));
            assertEquals((double) garbageSeq, metric("presage_coordinator_undecodable_sequence"));
            // An operator has looked at it (garbage) and deletes its row: commits go on, after the garbage.
            try (Connection db = AppDatabase.connect(); Statement s = db.createStatement()) {
                assertEquals(1, s.executeUpdate("delete from dead_letters where seq = " + garbageSeq));
            }
            awaitStatus(s -> "READY".equals(s.getString("state")) && s.getLong("committedSequence") >= garbageSeq,
                    "the coordinator READY past the garbage");
            assertEquals(0.0, metric("presage_coordinator_undecodable_sequence"));
            Response after = put("dl-after", "7");
            assertEquals(200, after.statusCode(), after.asString());
            assertTrue(sequenceOf(after) > garbageSeq);
            awaitApplied(sequenceOf(after));
            assertEquals("7", AppDatabase.storedValue("dl-after"));
            awaitStatus(s -> s.getLong("deadLetters") == 0, "the applier's count of parked messages recounted");
        }
    }

    /**
     * A stream that lost acknowledged commits is refused, not written over: first one that lost only
     * its tail, which the database (held behind) had not applied yet, then one created again empty.
     * Appended to, either would give new commits the sequences of lost ones, which mirrors that
     * applied those skip.
     */
    @Test
    @Order(7)
    void aStreamThatLostItsTailOrAllOfItIsRefusedNotWrittenOver() throws Exception {
        Response before = put("lost-k", "1");
        assertEquals(200, before.statusCode(), before.asString());
        awaitApplied(sequenceOf(before));
        String stream = config().getValue("presage.nats.stream", String.class);
        try (io.nats.client.Connection nc = Nats.connect(natsUrl()); Connection holdItems = lockingConnection()) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            StreamConfiguration original = jsm.getStreamInfo(stream).getConfiguration();
            lock(holdItems, "lock table items in exclusive mode"); // the database applies nothing more
            long applied = status().getLong("appliedSequence");
            long acked = 0;
            for (int i = 0; i < 3; i++) {
                Response r = put("lost-tail-" + i, "1");
                assertEquals(200, r.statusCode(), r.asString());
                acked = sequenceOf(r);
            }
            assertTrue(acked > applied, "acknowledged past what the database applied");
            // The stream restored from a copy taken at `applied + 1`: it has everything the database
            // applied, and lost the last acknowledged commits.
            jsm.deleteStream(stream);
            jsm.addStream(original);
            try (JetStreamLog log = secondWriter()) {
                for (long s = 1; s <= applied + 1; s++) {
                    append(log, batchWriting("lost-filler", "1", new Hlc().next()), "filler-" + s);
                }
            }
            assertUnavailable(put("lost-after-tail", "1")); // fenced: the coordinator rebuilds, and refuses
            // Made again here, the copy has another creation time than the stream the database was applied
            // from, which recovery now sees first; a real restore keeps it, and meets the tail check.
            awaitStatus(s -> !"READY".equals(s.getString("state")) && (s.getString("detail").contains("the stream lost acknowledged commits")
                    || s.getString("detail").contains("is another stream than the one this coordinator's database was applied from")),
                    "recovery refusing the stream that lost its tail");
            assertUnavailable(put("lost-after-tail", "2"));
            assertEquals(applied + 1, jsm.getStreamInfo(stream).getStreamState().getLastSequence(), "nothing was appended to it");
            holdItems.rollback();

            // The stream lost and created again empty, as after a NATS restart with its data gone.
            jsm.deleteStream(stream);
            jsm.addStream(original);
            // A commit now would get a sequence every applier skips as applied: refused, and the
            // coordinator does not turn READY over the empty stream.
            assertUnavailable(put("lost-after", "1"));
            awaitStatus(s -> !"READY".equals(s.getString("state")) && (s.getString("detail").contains("the stream was lost or replaced")
                    || s.getString("detail").contains("is another stream than the one this coordinator's database was applied from")),
                    "recovery refusing the empty stream");
            assertUnavailable(put("lost-after", "2"));
            assertEquals(0, jsm.getStreamInfo(stream).getStreamState().getMsgCount(), "nothing was appended to it");
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static Config config() {
        return ConfigProvider.getConfig();
    }

    private static String natsUrl() {
        return config().getValue("presage.nats.url", String.class);
    }

    /** A plain JetStreamLog on the application's stream: the test's second writer and log reader. */
    private static JetStreamLog secondWriter() {
        return JetStreamLog.connect(LogConfig.defaults(natsUrl())
                .withStreamName(config().getValue("presage.nats.stream", String.class))
                .withPublishTimeout(Duration.ofSeconds(5)));
    }

    /** Appends behind the coordinator's back, at the stream's real end; returns the new sequence. */
    private static long append(JetStreamLog log, byte[] payload, String msgId) throws Exception {
        long last = log.lastSequence();
        Appended a = log.append(JetStreamLog.subjectFor(0), payload, msgId, last).get(10, TimeUnit.SECONDS);
        assertEquals(new Appended(last + 1, false), a);
        return a.sequence();
    }

    private static byte[] batchWriting(String key, String json, long timestamp) {
        LogTxn txn = new LogTxn(timestamp, null, false, "intruder", List.of(LogWrite.put(key, json.getBytes(UTF_8))),
                Map.of("intruder", timestamp), List.of());
        return new BatchCodec().encode(LogBatch.of("intruder", 1, 0, 1, List.of(txn)));
    }

    /**
     * A foreign append, then a commit that JetStream fences: the coordinator rebuilds from the log.
     * Returns when it is READY again at the foreign message.
     */
    private static void forceResync(JetStreamLog log, String key) throws Exception {
        long seq = append(log, batchWriting(key, "1", new Hlc().next()), "intruder-" + key);
        assertUnavailable(put(key + "-fenced", "1"));
        awaitStatus(s -> "READY".equals(s.getString("state")) && s.getLong("committedSequence") >= seq,
                "READY after the rebuild");
    }

    /** Every transaction in the log, decoded. */
    private static List<LogTxn> logTxns(JetStreamLog log) throws Exception {
        BatchCodec codec = new BatchCodec();
        List<LogTxn> out = new ArrayList<>();
        long last = log.lastSequence();
        for (long next = 1; next <= last; ) {
            List<LogMessage> page = log.fetch(next, 256, Duration.ofSeconds(2));
            assertFalse(page.isEmpty(), "the log answers at " + next);
            for (LogMessage m : page) {
                out.addAll(codec.decode(m.data()).txns());
                next = m.sequence() + 1;
            }
        }
        return out;
    }

    /** A commit while something is broken: 503 UNAVAILABLE as JSON, within the commit timeout. */
    private static Response timedCommit(Callable<Response> request) throws Exception {
        long start = System.nanoTime();
        Response r = request.call();
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertUnavailable(r);
        // The longest a commit may take to answer, plus slack for a loaded machine.
        Duration timeout = config().getValue("presage.group-commit.timeout", Duration.class);
        assertTrue(took.compareTo(timeout.plusSeconds(2)) < 0, "answered in " + took + ", timeout " + timeout);
        return r;
    }

    private static <T> List<T> concurrently(int n, Callable<T> task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch go = new CountDownLatch(1);
            List<Future<T>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return task.call();
                }));
            }
            go.countDown();
            List<T> out = new ArrayList<>();
            for (Future<T> f : futures) {
                out.add(f.get(30, TimeUnit.SECONDS));
            }
            return out;
        } finally {
            pool.shutdownNow();
        }
    }

    /** Sum of a metric's samples in /q/metrics. */
    private static double metric(String name) {
        double sum = 0;
        boolean found = false;
        for (String line : given().get("/q/metrics").asString().split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                found = true;
            }
        }
        assertTrue(found, name + " in /q/metrics");
        return sum;
    }

    /** Until readiness reports the log (NATS JetStream) down. */
    private static void awaitLogDown() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!"DOWN".equals(given().get("/q/health/ready").jsonPath().getString("checks.find { it.name == 'nats-jetstream' }.status"))) {
            assertTrue(System.nanoTime() < deadline, "readiness reports the log down within 30 s");
            Http.sleep(50);
        }
    }

    /** The sum of {@code name}'s series whose labels include {@code label}, 0 when there is none yet. */
    private static double metric(String name, String label) {
        double sum = 0;
        for (String line : given().get("/q/metrics").asString().split("\n")) {
            if (line.startsWith(name + "{") && line.contains(label)) {
                sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        return sum;
    }

    private static Connection lockingConnection() throws SQLException {
        Connection c = AppDatabase.connect();
        c.setAutoCommit(false);
        return c;
    }

    private static void lock(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute("set local lock_timeout = '10s'");
            s.execute(sql);
        }
    }

    private static long countRows(String sql) throws SQLException {
        try (Connection c = AppDatabase.connect(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
