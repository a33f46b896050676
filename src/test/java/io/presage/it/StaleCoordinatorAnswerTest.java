package io.presage.it;

import static io.presage.it.LogWriter.put;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.sun.net.httpserver.HttpServer;

import io.presage.coord.Tokens;
import io.presage.log.LogTxn;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;

/**
 * A mirror's answers that go to the coordinator never go back behind what the mirror itself has
 * applied and served, or behind the client's {@code after}; and a message it had to park does not pass
 * for applied.
 *
 * <p>The coordinator makes a log position readable only once every earlier append has its ack
 * (GroupCommit), so while an ack is slow or lost (the publish timeout and its retries, a stray append
 * during a resync) it answers a reconciliation at a position before the one JetStream stored and
 * mirrors applied. That window cannot be held open on a real coordinator from a test, so the
 * coordinator here is a stand-in HTTP server answering {@code /v1/reconcile} with what a coordinator in
 * that window answers; NATS and PostgreSQL are real.
 */
@QuarkusTest
@TestProfile(StaleCoordinatorAnswerTest.Profile.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StaleCoordinatorAnswerTest {
    static final String ANSWER = "presage.test.reconcile-answer";
    static final String DELAY = "presage.test.reconcile-delay-ms";

    /** The {@code mirror} configuration profile on this class's {@link Servers}. */
    public static class Profile extends MirrorProfile {
        public Profile() {
            // Qualified: inside a MirrorProfile, the simple name Servers is the inherited MirrorProfile.Servers.
            super(StaleCoordinatorAnswerTest.Servers.class);
        }
    }

    /** Real NATS and PostgreSQL, and a fake coordinator that answers reconcile with System property {@link #ANSWER}. */
    public static class Servers extends StandInCoordinatorServers {
        @Override
        protected void contexts(HttpServer server) {
            server.createContext("/v1/reconcile", ex -> {
                ex.getRequestBody().readAllBytes();
                long delay = Long.getLong(DELAY, 0);
                if (delay > 0) {
                    try {
                        Thread.sleep(delay); // a coordinator slow to answer
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                String body = System.getProperty(ANSWER);
                answer(ex, body == null ? 503 : 200, body == null ? "{\"error\":\"UNAVAILABLE\",\"message\":\"x\"}" : body);
            });
        }
    }

    private static LogWriter log;

    @BeforeAll
    static void connect() {
        log = new LogWriter();
    }

    @AfterAll
    static void disconnect() {
        log.close();
    }

    @Test
    @Order(1)
    void aStrongReadNeverAnswersOlderThanWhatTheMirrorHasAppliedAndServed() throws Exception {
        Http.awaitReady(Duration.ofSeconds(60));
        LogTxn v1 = log.txn(put("k", "1"));
        long s1 = log.append(v1);
        LogTxn v2 = log.txn(put("k", "2"));
        long s2 = log.append(v2);
        Http.awaitApplied(s2);

        // The mirror serves v2 at s2 to this client.
        Response local = given().get("/v1/kv/{k}", "k");
        local.then().statusCode(200);
        assertEquals(v2.timestamp(), local.jsonPath().getLong("version"));
        assertTrue(local.jsonPath().getLong("sequence") >= s2);

        // The coordinator has not made s2 readable yet: it answers the state at s1.
        System.setProperty(ANSWER, "{\"items\":[{\"key\":\"k\",\"value\":1,\"version\":" + v1.timestamp()
                + ",\"vclock\":{\"coordinator\":" + v1.timestamp() + "},\"sequence\":" + s1 + "}],\"sequence\":" + s1 + "}");
        try {
            Response strong = given().queryParam("consistency", "strong").get("/v1/kv/{k}", "k");
            Response strongAfter = given().queryParam("consistency", "strong").queryParam("after", Tokens.of(s2))
                    .get("/v1/kv/{k}", "k");
            Response minConf = given().queryParam("minConfidence", "1").get("/v1/kv/{k}", "k");
            Response batch = given().contentType("application/json")
                    .body("{\"keys\":[\"k\"],\"consistency\":\"strong\",\"after\":\"" + Tokens.of(s2) + "\"}")
                    .post("/v1/kv/_batch");
            assertAll(
                    () -> assertEquals(v2.timestamp(), strong.jsonPath().getLong("version"),
                            "strong read went back from v2 (served at " + s2 + ") to: " + strong.asString()),
                    () -> assertTrue(strongAfter.jsonPath().getLong("sequence") >= s2,
                            "strong read with after=" + s2 + " answered at an earlier position: " + strongAfter.asString()),
                    () -> assertEquals(v2.timestamp(), minConf.jsonPath().getLong("version"),
                            "minConfidence=1 read went back to the older version with confidence 1: " + minConf.asString()),
                    () -> assertTrue(batch.jsonPath().getLong("sequence") >= s2,
                            "strong batch with after=" + s2 + " answered at an earlier position: " + batch.asString()));
        } finally {
            System.clearProperty(ANSWER);
        }
    }

    /**
     * A message this mirror cannot decode (here: a newer format_version, as after upgrading the coordinator
     * first) is parked and the applier moves past it. A causal read whose token names that message must
     * not answer 200 "local" with the state from before it: the client's own write is not there.
     */
    @Test
    @Order(2)
    void whileAMessageIsParkedACausalReadAsksTheCoordinatorAndNoLocalCopyIsTakenForCurrent() throws Exception {
        Parked parked = parkedOver("dl-k");
        LogTxn written = parked.written();
        long s2 = parked.sequence();
        Http.awaitApplied(s2);

        Response predictive = given().get("/v1/kv/{k}", "dl-k");
        assertEquals(1, predictive.jsonPath().getInt("value"));
        assertEquals(0.0, predictive.jsonPath().getDouble("confidence"),
                "which keys the parked message wrote is unknown: " + predictive.asString());

        System.setProperty(ANSWER, reconciled("dl-k", 2, written.timestamp(), s2));
        try {
            Response causal = given().queryParam("consistency", "causal").queryParam("after", Tokens.of(s2))
                    .queryParam("timeoutMs", "3000").get("/v1/kv/{k}", "dl-k");
            assertEquals(200, causal.statusCode(), causal.asString());
            assertEquals(2, causal.jsonPath().getInt("value"),
                    "read-your-writes for token " + s2 + " answered with the state before it: " + causal.asString());
            assertEquals("primary", causal.jsonPath().getString("source"));
            Response batch = given().contentType("application/json")
                    .body("{\"keys\":[\"dl-k\"],\"consistency\":\"causal\",\"after\":\"" + Tokens.of(s2) + "\"}")
                    .post("/v1/kv/_batch");
            assertEquals(2, batch.jsonPath().getInt("items[0].value"), batch.asString());
        } finally {
            System.clearProperty(ANSWER);
        }
    }

    /**
     * The parked message holds the client's write; the coordinator answers at its position while this
     * mirror has already applied a later message (its ack is still on the way to the coordinator). The
     * mirror's own copy is then not "newer" than the coordinator's answer: it lacks the parked write, and
     * answering it with confidence 1 as the primary's is a stale value passed off as strong.
     */
    @Test
    @Order(3)
    void whileAMessageIsParkedTheCoordinatorsAnswerIsNotReplacedByTheMirrorsIncompleteCopy() throws Exception {
        Parked parked = parkedOver("dl-j");
        LogTxn written = parked.written();
        long s2 = parked.sequence();
        long s3 = log.append(log.txn(put("dl-other", "3")));
        Http.awaitApplied(s3);

        System.setProperty(ANSWER, reconciled("dl-j", 2, written.timestamp(), s2));
        try {
            Response strong = given().queryParam("consistency", "strong").get("/v1/kv/{k}", "dl-j");
            Response causal = given().queryParam("consistency", "causal").queryParam("after", Tokens.of(s2))
                    .queryParam("timeoutMs", "3000").get("/v1/kv/{k}", "dl-j");
            Response batch = given().contentType("application/json")
                    .body("{\"keys\":[\"dl-j\"],\"consistency\":\"strong\"}").post("/v1/kv/_batch");
            // A token past what the coordinator answers: nobody can vouch for it in time, so 504, not the copy.
            Response ahead = given().queryParam("consistency", "causal").queryParam("after", Tokens.of(s3))
                    .queryParam("timeoutMs", "300").get("/v1/kv/{k}", "dl-j");
            assertAll(
                    () -> assertEquals(504, ahead.statusCode(),
                            "token " + s3 + " with only an incomplete copy and a coordinator at " + s2 + ": " + ahead.asString()),
                    () -> assertEquals(2, strong.jsonPath().getInt("value"),
                            "strong read answered the copy missing the parked write: " + strong.asString()),
                    () -> assertEquals(2, causal.jsonPath().getInt("value"),
                            "read-your-writes for token " + s2 + " answered the state before it: " + causal.asString()),
                    () -> assertEquals(2, batch.jsonPath().getInt("items[0].value"),
                            "strong batch answered the copy missing the parked write: " + batch.asString()));
        } finally {
            System.clearProperty(ANSWER);
        }
    }

    /**
     * A causal read that arrives before its token's message and waits for it: the message turns out
     * undecodable and is parked, which moves the applied position past the token and wakes the read.
     * Checking for parked messages only before the wait let it answer the local state from before the
     * client's write, 200 "local".
     */
    @Test
    @Order(4)
    void aCausalReadWaitingForAMessageThatGetsParkedAsksTheCoordinator() throws Exception {
        long token = nextMessageOver("dl-w");
        LogTxn written = log.txn(put("dl-w", "2"));
        System.setProperty(ANSWER, reconciled("dl-w", 2, written.timestamp(), token));
        try {
            CompletableFuture<Response> causal = CompletableFuture.supplyAsync(() -> given()
                    .queryParam("consistency", "causal").queryParam("after", Tokens.of(token))
                    .queryParam("timeoutMs", "10000").get("/v1/kv/{k}", "dl-w"));
            CompletableFuture<Response> batch = CompletableFuture.supplyAsync(() -> given().contentType("application/json")
                    .body("{\"keys\":[\"dl-w\"],\"consistency\":\"causal\",\"after\":\"" + Tokens.of(token)
                            + "\",\"timeoutMs\":10000}").post("/v1/kv/_batch"));
            Http.awaitStatus(s -> s.getInt("causalWaiters") >= 2, "both reads waiting");
            assertEquals(token, log.appendRaw(LogWriter.newerFormat(written)));
            Response c = causal.get(20, TimeUnit.SECONDS);
            Response b = batch.get(20, TimeUnit.SECONDS);
            assertAll(
                    () -> assertEquals(2, c.jsonPath().getInt("value"),
                            "read-your-writes for token " + token + " answered the state before it: " + c.asString()),
                    () -> assertEquals(2, b.jsonPath().getInt("items[0].value"),
                            "batch for token " + token + " answered the state before it: " + b.asString()));
        } finally {
            System.clearProperty(ANSWER);
        }
    }

    /**
     * A causal read that waited most of its {@code timeoutMs} for a message that was then parked goes to the
     * coordinator, which is behind the token: it is answered 504 when its {@code timeoutMs} runs out, not
     * after another {@code timeoutMs} of asking the coordinator again.
     */
    @Test
    @Order(5)
    void aCausalReadThatWaitedAndThenAsksTheCoordinatorStillAnswersWithinItsTimeout() throws Exception {
        long token = nextMessageOver("dl-t");
        // The coordinator's acks have not reached the token: it answers at the message before.
        System.setProperty(ANSWER, reconciled("dl-t", 1, 1, token - 1));
        try {
            long start = System.nanoTime();
            CompletableFuture<Response> causal = CompletableFuture.supplyAsync(() -> given()
                    .queryParam("consistency", "causal").queryParam("after", Tokens.of(token))
                    .queryParam("timeoutMs", "4000").get("/v1/kv/{k}", "dl-t"));
            Http.awaitStatus(s -> s.getInt("causalWaiters") >= 1, "the read waiting");
            Thread.sleep(Math.max(0, 3000 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)));
            assertEquals(token, log.appendRaw(LogWriter.newerFormat(log.txn(put("dl-t", "2")))));
            Response c = causal.get(20, TimeUnit.SECONDS);
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals(504, c.statusCode(), c.asString());
            assertTrue(tookMs < 5500, "timeoutMs was 4000; the answer took " + tookMs + " ms: " + c.asString());
        } finally {
            System.clearProperty(ANSWER);
        }
    }

    /**
     * A read with {@code after} that the coordinator answers (a message is parked here) and a coordinator slow to
     * answer: 504 when the read's {@code timeoutMs} runs out. It waited for the coordinator's answer however
     * long that took (up to twice {@code presage.mirror.forward-timeout}), here 200 after 3 s for a read that
     * gave 500 ms.
     */
    @Test
    @Order(6)
    void aCausalReadTheCoordinatorIsSlowToAnswerIs504WhenItsTimeoutRunsOut() throws Exception {
        Parked p = parkedOver("dl-slow");
        System.setProperty(ANSWER, reconciled("dl-slow", 2, p.written().timestamp(), p.sequence()));
        System.setProperty(DELAY, "3000");
        try {
            long start = System.nanoTime();
            Response c = given().queryParam("consistency", "causal").queryParam("after", Tokens.of(p.sequence()))
                    .queryParam("timeoutMs", "500").get("/v1/kv/{k}", "dl-slow");
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals(504, c.statusCode(), c.asString());
            assertEquals("TIMEOUT", c.jsonPath().getString("error"), c.asString());
            assertTrue(tookMs < 2500, "timeoutMs was 500; the answer took " + tookMs + " ms: " + c.asString());
        } finally {
            System.clearProperty(DELAY);
            System.clearProperty(ANSWER);
        }
    }

    /**
     * The coordinator answers at a position of another log stream: the stream was deleted and made again, and this
     * mirror has not noticed yet (its applier notices at its next pull, and not at all while NATS cannot be
     * reached). That position counts other commits, so this mirror's copy, higher in its own stream's numbering, is
     * not newer than the answer. It was taken for newer and answered as "primary" with confidence 1: the old copy.
     */
    @Test
    @Order(7)
    void aStrongReadAnsweredInAnotherLogStreamIsTheCoordinatorsAnswerNotTheMirrorsOldCopy() throws Exception {
        nextMessageOver("gone-k"); // gone-k = 1 applied here, nothing parked
        Http.awaitApplied(log.append(log.txn(put("gone-j", "1"))));
        Response local = given().get("/v1/kv/{k}", "gone-k");
        assertTrue(local.jsonPath().getLong("sequence") > 1, "this mirror is past the answer's position: " + local.asString());
        long otherStream = Tokens.streamOf(local.jsonPath().getString("token")) + 1;
        System.setProperty(ANSWER, reconciled("gone-k", 7, 5, 1).replaceFirst("}$",
                ",\"token\":\"" + Tokens.of(1, otherStream) + "\"}"));
        try {
            Response strong = given().queryParam("consistency", "strong").get("/v1/kv/{k}", "gone-k");
            assertEquals(200, strong.statusCode(), strong.asString());
            assertEquals(7, strong.jsonPath().getInt("value"), "the mirror's copy of the old stream: " + strong.asString());
            assertEquals("primary", strong.jsonPath().getString("source"), strong.asString());
            // Its token is of the stream the answer is from: stamped with this mirror's, it was a position of
            // the old stream, long passed here, and read-your-writes with it came back to the old copy.
            assertEquals(Tokens.of(1, otherStream), strong.jsonPath().getString("token"), strong.asString());
            Response batch = given().queryParam("consistency", "strong").contentType("application/json")
                    .body("{\"keys\":[\"gone-k\"]}").post("/v1/kv/_batch");
            assertEquals(200, batch.statusCode(), batch.asString());
            assertEquals(7, batch.jsonPath().getInt("items[0].value"), batch.asString());
            assertEquals(Tokens.of(1, otherStream), batch.jsonPath().getString("token"), batch.asString());
            // Given back here, that token names a stream this mirror has not applied: refused, not answered
            // from the old copy as position 1.
            Response after = given().queryParam("after", strong.jsonPath().getString("token")).get("/v1/kv/{k}", "gone-k");
            assertEquals(409, after.statusCode(), after.asString());
            assertEquals("LOG_REPLACED", after.jsonPath().getString("error"), after.asString());
        } finally {
            System.clearProperty(ANSWER);
        }
    }

    /**
     * Reads with {@code after} that the coordinator answers though nothing is parked: a strong read (single and
     * batch), and a causal read whose local copy, once {@code after} is applied, is below its {@code minConfidence}.
     * A slow coordinator's answer counts against {@code timeoutMs}: 504 in time. They waited for the reconcile
     * batcher's bound (twice {@code presage.mirror.forward-timeout}) and got whatever came, here 200 after 3 s;
     * the causal one started its {@code timeoutMs} again after the wait.
     */
    @Test
    @Order(8)
    void readsWithAfterThatTheCoordinatorIsSlowToAnswerAre504WhenTheirTimeoutRunsOut() throws Exception {
        long applied = nextMessageOver("slow-strong") - 1;
        String token = Tokens.of(applied);
        System.setProperty(ANSWER, reconciled("slow-strong", 1, 1, applied));
        System.setProperty(DELAY, "3000");
        try {
            Map<String, java.util.function.Supplier<Response>> reads = new java.util.LinkedHashMap<>();
            reads.put("strong", () -> given().queryParam("consistency", "strong").queryParam("after", token)
                    .queryParam("timeoutMs", "500").get("/v1/kv/{k}", "slow-strong"));
            reads.put("strong batch", () -> given().queryParam("consistency", "strong").contentType("application/json")
                    .body("{\"keys\":[\"slow-strong\"],\"after\":\"" + token + "\",\"timeoutMs\":500}").post("/v1/kv/_batch"));
            reads.put("causal below minConfidence", () -> given().queryParam("after", token).queryParam("minConfidence", "1")
                    .queryParam("timeoutMs", "500").get("/v1/kv/{k}", "slow-strong"));
            for (Map.Entry<String, java.util.function.Supplier<Response>> read : reads.entrySet()) {
                long start = System.nanoTime();
                Response r = read.getValue().get();
                long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertTrue(tookMs < 2500, read.getKey() + ": timeoutMs was 500; the answer took " + tookMs + " ms: " + r.asString());
                assertEquals(504, r.statusCode(), read.getKey() + ": " + r.asString());
                assertEquals("TIMEOUT", r.jsonPath().getString("error"), r.asString());
            }
        } finally {
            System.clearProperty(DELAY);
            System.clearProperty(ANSWER);
        }
    }

    /**
     * The operator has dealt with the messages parked before (nothing is parked when the reads come), and
     * {@code key} = 1 is applied; returns the next message's sequence: this test's stream has no other writer.
     */
    private static long nextMessageOver(String key) throws Exception {
        try (java.sql.Connection c = AppDatabase.connect(); java.sql.Statement st = c.createStatement()) {
            st.executeUpdate("delete from dead_letters");
        }
        Http.awaitStatus(s -> s.getLong("deadLetters") == 0, "the parked messages dealt with");
        long s1 = log.append(log.txn(put(key, "1")));
        Http.awaitApplied(s1);
        return s1 + 1;
    }

    /** The client's write ({@code key} = 2) in a message parked at {@code sequence}. */
    private record Parked(LogTxn written, long sequence) {
    }

    /** {@code key} = 1 applied, then the client's write {@code key} = 2 in a message this mirror cannot decode. */
    private static Parked parkedOver(String key) throws Exception {
        Http.awaitApplied(log.append(log.txn(put(key, "1"))));
        LogTxn written = log.txn(put(key, "2"));
        return new Parked(written, log.appendRaw(LogWriter.newerFormat(written)));
    }

    /** {@code /v1/reconcile}'s answer for one key at {@code sequence}, as a coordinator gives it. */
    private static String reconciled(String key, int value, long version, long sequence) {
        return "{\"items\":[{\"key\":\"" + key + "\",\"value\":" + value + ",\"version\":" + version
                + ",\"vclock\":{\"coordinator\":" + version + "},\"sequence\":" + sequence + "}],\"sequence\":"
                + sequence + "}";
    }
}
