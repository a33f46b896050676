package io.presage.it;

import static io.presage.it.Http.get;
import static io.presage.it.Http.post;
import static io.presage.it.LogWriter.put;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.DeliverPolicy;
import io.presage.coord.Tokens;
import io.presage.log.LogTxn;
import io.presage.log.LogWrite;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.RestAssured;
import io.restassured.http.ContentType;
import io.restassured.response.Response;

/**
 * A mirror (the {@code mirror} profile) against a real NATS JetStream and PostgreSQL, fed with
 * committed batches in the real log format. The coordinator is down throughout (nothing listens on its
 * URL): writes must get 503 while reads go on.
 */
@QuarkusTest
@TestProfile(MirrorProfile.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MirrorApiTest {
    private static LogWriter log;

    @BeforeAll
    static void connect() {
        log = new LogWriter();
    }

    @AfterAll
    static void disconnect() {
        log.close();
    }

    // ---- local reads --------------------------------------------------------------------------

    @Test
    @Order(1)
    void aCausalReadWithTheTokenOfAnAppendSeesItAndSaysWhereItAnswered() throws Exception {
        Http.awaitReady(Duration.ofSeconds(60));
        log.append(log.txn(put("m-a", "1")));
        LogTxn second = log.txn(put("m-a", "2"), put("m-b", "{\"x\":true}"));
        long seq = log.append(second);
        Response r = given().queryParam("consistency", "causal").queryParam("after", Tokens.of(seq))
                .get("/v1/kv/{k}", "m-a");
        r.then().statusCode(200).body("value", equalTo(2)).body("version", equalTo(second.timestamp()))
                .body("vclock.coordinator", equalTo(second.timestamp()))
                .body("source", equalTo("local"));
        assertTrue(r.jsonPath().getLong("sequence") >= seq);
        assertTrue(Tokens.position(r.jsonPath().getString("token")) >= seq);
        double c = r.jsonPath().getDouble("confidence");
        assertTrue(c > 0 && c <= 1, "confidence " + c);
        // Again, from the cache this time: the same answer.
        get("m-b").then().statusCode(200).body("value.x", equalTo(true)).body("source", equalTo("local"));
        get("m-b").then().statusCode(200).body("value.x", equalTo(true));
    }

    @Test
    @Order(2)
    void laterMessagesWinOverEarlierOnesAndDeletesLeaveATombstone() throws Exception {
        LogTxn a = log.txn(put("ord-k", "\"first\""));
        LogTxn b = log.txn(put("ord-k", "\"second\""));
        log.append(a);
        awaitApplied(log.append(log.txn(put("ord-gone", "1")))); // the delete comes in a later chunk
        // Stamped after the put, as the coordinator would: certification places a write after the
        // key's current version (DESIGN §3), so a key's versions grow in log order. A delete stamped
        // before the put was only applied when both happened to share a chunk (the store keeps the
        // newer version, so that replays change nothing), which made this test flaky.
        LogTxn c = log.txn(LogWrite.remove("ord-gone"));
        long last = log.append(b, c); // two transactions in one message, applied in order
        awaitApplied(last);
        get("ord-k").then().statusCode(200).body("value", equalTo("second")).body("version", equalTo(b.timestamp()));
        get("ord-gone").then().statusCode(404).body("error", equalTo("NOT_FOUND"))
                .body("version", equalTo(0)).body("deletedVersion", equalTo(c.timestamp())).body("source", equalTo("local"));
        get("ord-never").then().statusCode(404).body("error", equalTo("NOT_FOUND")).body("version", equalTo(0))
                .body("confidence", greaterThan(0f)).body("token", startsWith("p2."));
    }

    @Test
    @Order(3)
    void aBatchReaderNeverSeesHalfATransferAndNoReaderSeesTheLogGoBack() throws Exception {
        int accounts = 8;
        List<String> keys = new ArrayList<>();
        LogWrite[] init = new LogWrite[accounts];
        for (int i = 0; i < accounts; i++) {
            keys.add("acct-" + i);
            init[i] = put("acct-" + i, "100");
        }
        awaitApplied(log.append(log.txn(init)));
        long[] balance = new long[accounts];
        java.util.Arrays.fill(balance, 100);
        String body = "{\"keys\":" + new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(keys) + "}";
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong batchReads = new AtomicLong();
        java.util.Set<Long> positionsSeen = java.util.concurrent.ConcurrentHashMap.newKeySet();
        ExecutorService readers = Executors.newFixedThreadPool(3);
        List<Future<?>> checks = new ArrayList<>();
        // A third reader reads keys that mostly miss the small cache (the store answers, then fills):
        // like the others, it must never see the log go backwards between its successive reads.
        checks.add(readers.submit(() -> {
            java.util.Random keys3 = new java.util.Random(3);
            long previous = 0;
            while (!done.get()) {
                Response r = get("miss-" + keys3.nextInt(300));
                long seq = r.jsonPath().getLong("sequence");
                assertTrue(seq >= previous, "read at " + seq + " after one at " + previous);
                previous = seq;
            }
            return null;
        }));
        for (int t = 0; t < 2; t++) {
            checks.add(readers.submit(() -> {
                long previous = 0;
                while (!done.get()) {
                    Response r = post("/v1/kv/_batch", body);
                    assertEquals(200, r.statusCode(), r.asString());
                    List<Integer> values = r.jsonPath().getList("items.value", Integer.class);
                    assertEquals(accounts * 100, values.stream().mapToInt(Integer::intValue).sum(),
                            "a batch at one position shows the bank's total: " + r.asString());
                    batchReads.incrementAndGet();
                    long seq = r.jsonPath().getLong("sequence");
                    assertTrue(seq >= previous, "read at " + seq + " after one at " + previous);
                    previous = seq;
                    positionsSeen.add(seq);
                }
                return null;
            }));
        }
        java.util.Random rnd = new java.util.Random(7);
        long last = 0;
        // At least 150 messages, and on until the readers have seen the state at many positions.
        for (int n = 0; n < 150 || (positionsSeen.size() < 20 && n < 5000); n++) {
            // one or two transfers per message, each moving money between two accounts
            int txns = 1 + rnd.nextInt(2);
            LogTxn[] batch = new LogTxn[txns];
            for (int t = 0; t < txns; t++) {
                int from = rnd.nextInt(accounts);
                int to = (from + 1 + rnd.nextInt(accounts - 1)) % accounts;
                long amount = rnd.nextInt(10);
                balance[from] -= amount;
                balance[to] += amount;
                batch[t] = log.txn(put(keys.get(from), Long.toString(balance[from])),
                        put(keys.get(to), Long.toString(balance[to])));
            }
            last = log.append(batch);
        }
        awaitApplied(last);
        done.set(true);
        for (Future<?> f : checks) {
            f.get(30, TimeUnit.SECONDS);
        }
        readers.shutdown();
        assertTrue(positionsSeen.size() >= 20, "readers saw the bank at " + positionsSeen.size()
                + " positions while the applier ran (" + batchReads.get() + " batch reads)");
        Response end = post("/v1/kv/_batch", body);
        assertEquals(java.util.Arrays.stream(balance).boxed().map(Long::intValue).toList(),
                end.jsonPath().getList("items.value", Integer.class), "the final balances, exactly");
        assertEquals("local", end.jsonPath().getString("source"));
        assertTrue(end.jsonPath().getLong("sequence") >= last);
    }

    @Test
    @Order(4)
    void redeliveryFromAnOlderPositionChangesNothing() throws Exception {
        long last = log.append(log.txn(put("replay-k", "1")));
        awaitApplied(last);
        String body = "{\"keys\":[\"m-a\",\"m-b\",\"ord-k\",\"ord-gone\",\"acct-0\",\"acct-1\",\"replay-k\"]}";
        List<Map<String, Object>> before = withoutConfidence(post("/v1/kv/_batch", body));
        Config config = ConfigProvider.getConfig();
        String stream = config.getValue("presage.nats.stream", String.class);
        try (io.nats.client.Connection nc = Nats.connect(config.getValue("presage.nats.url", String.class))) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            jsm.deleteConsumer(stream, "apply-mirror1");
            // A short ack wait: this test is about what a redelivery changes, not about how soon one that
            // went astray on a loaded machine (CI once waited out a 30 s ack wait here) comes back.
            jsm.addOrUpdateConsumer(stream, ConsumerConfiguration.builder().durable("apply-mirror1")
                    .ackPolicy(AckPolicy.Explicit).ackWait(Duration.ofSeconds(3))
                    .deliverPolicy(DeliverPolicy.ByStartSequence).startSequence(1).build());
            AtomicReference<Object> seen = new AtomicReference<>();
            await(() -> {
                try {
                    var info = jsm.getConsumerInfo(stream, "apply-mirror1");
                    seen.set(info);
                    return info.getAckFloor().getStreamSequence() >= last && info.getNumAckPending() == 0;
                } catch (Exception e) {
                    seen.set(e);
                    return false;
                }
            }, () -> "every message up to " + last + " delivered again and acknowledged; last seen: " + seen.get());
        }
        assertEquals(before, withoutConfidence(post("/v1/kv/_batch", body)), "nothing changed");
        assertEquals(last, given().get("/v1/status").jsonPath().getLong("appliedSequence"));
        long next = log.append(log.txn(put("replay-k", "2")));
        awaitApplied(next);
        get("replay-k").then().statusCode(200).body("value", equalTo(2));
    }

    // ---- causal -------------------------------------------------------------------------------

    @Test
    @Order(5)
    void aCausalReadWaitsForItsPositionAndReturnsAsSoonAsItIsApplied() throws Exception {
        long current = given().get("/v1/status").jsonPath().getLong("appliedSequence");
        ExecutorService ex = Executors.newSingleThreadExecutor();
        try {
            Future<Response> waiting = ex.submit(() -> given().queryParam("consistency", "causal")
                    .queryParam("after", Tokens.of(current + 1)).queryParam("timeoutMs", 20_000).get("/v1/kv/{k}", "wait-k"));
            Http.awaitStatus(st -> st.getInt("causalWaiters") >= 1, "the read waiting");
            assertTrue(!waiting.isDone(), "the read waits for a position not applied yet");
            long appended = System.nanoTime();
            log.append(log.txn(put("wait-k", "\"here\"")));
            Response r = waiting.get(20, TimeUnit.SECONDS);
            long waitedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - appended);
            r.then().statusCode(200).body("value", equalTo("here"));
            assertTrue(waitedMs < 15_000, "answered " + waitedMs + " ms after the append, far before the timeout");
        } finally {
            ex.shutdownNow();
        }
    }

    @Test
    @Order(6)
    void aCausalReadForAPositionNotReachedInTimeGets504() {
        long current = given().get("/v1/status").jsonPath().getLong("appliedSequence");
        long t0 = System.nanoTime();
        given().queryParam("consistency", "causal").queryParam("after", Tokens.of(current + 1000))
                .queryParam("timeoutMs", 300).get("/v1/kv/{k}", "m-a")
                .then().statusCode(504).body("error", equalTo("TIMEOUT"));
        assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) >= 250);
        post("/v1/kv/_batch", "{\"keys\":[\"m-a\"],\"after\":\"" + Tokens.of(current + 1000) + "\",\"timeoutMs\":0}")
                .then().statusCode(504).body("error", equalTo("TIMEOUT"));
        assertEquals(0, given().get("/v1/status").jsonPath().getInt("causalWaiters"), "timed-out waiters left");
    }

    @Test
    @Order(6)
    void aCausalReadWhoseClientGoesAwayLeavesNoWaiterBehind() throws Exception {
        long current = given().get("/v1/status").jsonPath().getLong("appliedSequence");
        URI uri = URI.create(RestAssured.baseURI + ":" + RestAssured.port + "/v1/kv/gone-k?consistency=causal&timeoutMs=60000&after="
                + Tokens.of(current + 1000));
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        // The client gives up long before the mirror's 60 s bound, and its connection is closed.
        assertThrows(HttpTimeoutException.class, () -> client.send(
                HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(300)).GET().build(), HttpResponse.BodyHandlers.ofString()));
        await(() -> given().get("/v1/status").jsonPath().getInt("causalWaiters") == 0,
                () -> "the abandoned read's waiter removed (causalWaiters "
                        + given().get("/v1/status").jsonPath().getInt("causalWaiters") + ")");
    }

    @Test
    @Order(7)
    void badReadOptionsAre400WithTheReason() {
        for (Map<String, Object> q : List.<Map<String, Object>>of(Map.of("after", "nonsense"), Map.of("after", "p1.!!"),
                Map.of("consistency", "eventual"), Map.of("minConfidence", "1.5"), Map.of("minConfidence", "x"),
                Map.of("timeoutMs", "-1"), Map.of("timeoutMs", "soon"))) {
            given().queryParams(q).get("/v1/kv/{k}", "m-a").then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        }
        post("/v1/kv/_batch", "{\"keys\":[\"m-a\"],\"consistency\":\"causal\",\"after\":\"p2.zz\"}")
                .then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        post("/v1/kv/_batch", "{\"keys\":[\"m-a\"],\"minConfidence\":[1]}").then().statusCode(400);
        // In the body an option has its JSON type: a string where a number belongs is a wrong type (400).
        post("/v1/kv/_batch", "{\"keys\":[\"m-a\"],\"minConfidence\":\"0.5\"}").then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        post("/v1/kv/_batch", "{\"keys\":[\"m-a\"],\"timeoutMs\":\"5\"}").then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        post("/v1/procedures/increment", "{\"key\":\"\"}").then().statusCode(400).body("error", equalTo("INVALID_KEY"));
        post("/v1/kv/_batch", "{\"keys\":\"m-a\"}").then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        post("/v1/kv/_batch", "{\"keys\":[").then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        // An option in the query and in the body with different values: the body used to win silently.
        given().contentType("application/json").queryParam("consistency", "strong")
                .body("{\"keys\":[\"m-a\"],\"consistency\":\"causal\"}").post("/v1/kv/_batch")
                .then().statusCode(400).body("error", equalTo("BAD_REQUEST"))
                .body("message", equalTo("consistency is given twice with different values: 'strong' in the query, 'causal' in the body"));
        given().contentType("application/json").queryParam("consistency", "predictive")
                .body("{\"keys\":[\"m-a\"],\"consistency\":\"predictive\"}").post("/v1/kv/_batch")
                .then().statusCode(200);
        get("").then().statusCode(400).body("error", equalTo("INVALID_KEY")); // API.md: an empty key
        // A parameter given twice: the first copy won silently, so this was a predictive read.
        for (String path : List.of("/v1/kv/m-a?consistency=predictive&consistency=strong", "/v1/kv/_batch?after=p2.1&after=p2.1",
                "/v1/transactions?speculative=true&speculative=false")) {
            given().urlEncodingEnabled(false).contentType("application/json").body("{\"keys\":[\"m-a\"]}")
                    .request(path.startsWith("/v1/kv/m-a") ? "GET" : "POST", path).then().statusCode(400)
                    .body("error", equalTo("BAD_REQUEST")).body("message", startsWith("query parameter "));
        }
    }

    // ---- the coordinator is down -------------------------------------------------------------

    @Test
    @Order(8)
    void writesForwardedToAnUnreachableCoordinatorGet503WhileReadsAre200() {
        Http.put("fw-k", "{\"n\":1}").then().statusCode(503).body("error", equalTo("UNAVAILABLE"));
        given().delete("/v1/kv/{k}", "fw-k").then().statusCode(503).body("error", equalTo("UNAVAILABLE"));
        post("/v1/transactions", "{\"reads\":[],\"writes\":[{\"key\":\"fw-k\",\"value\":1}]}")
                .then().statusCode(503).body("error", equalTo("UNAVAILABLE"));
        given().contentType(ContentType.JSON).queryParam("id", "t-1").body("{\"key\":\"c\",\"by\":1}")
                .post("/v1/procedures/increment").then().statusCode(503).body("error", equalTo("UNAVAILABLE"));
        get("m-a").then().statusCode(200).body("source", equalTo("local"));
        post("/v1/kv/_batch", "{\"keys\":[\"m-a\",\"m-b\"]}").then().statusCode(200).body("source", equalTo("local"));
        given().get("/v1/status").then().statusCode(200).body("coordinator.reachable", equalTo(false));
        // A speculative write is answered at once, and stays speculative while the coordinator cannot be asked.
        given().contentType(ContentType.JSON).queryParam("speculative", "true").body("{\"id\":\"offline-1\",\"writes\":[{\"key\":\"fw-k\",\"value\":1}]}")
                .post("/v1/transactions").then().statusCode(202).body("status", equalTo("SPECULATIVE")).body("id", equalTo("offline-1"));
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        String message = "";
        while (!message.contains("did not answer") && System.nanoTime() < deadline) {
            message = given().get("/v1/transactions/{id}", "offline-1").then().statusCode(200)
                    .body("status", equalTo("SPECULATIVE")).extract().path("message") + "";
        }
        assertTrue(message.contains("did not answer"), message);
        given().get("/v1/transactions/{id}", "never-seen").then().statusCode(503).body("error", equalTo("UNAVAILABLE"));
    }

    @Test
    @Order(8)
    void aSpeculationWhoseClientGoesAwayWhileItIsRecordedIsStillSent() throws Exception {
        URI uri = URI.create(RestAssured.baseURI + ":" + RestAssured.port + "/v1/transactions?speculative=true");
        String body = "{\"id\":\"gone-1\",\"writes\":[{\"key\":\"gone-k\",\"value\":1}]}";
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        try (Connection c = jdbc()) {
            // Hold the record's insert back until the client has given up and closed its connection.
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.execute("lock table speculations in access exclusive mode");
            }
            assertThrows(HttpTimeoutException.class, () -> client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofMillis(500))
                    .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofString()));
            c.rollback();
        }
        // Recorded and sent once the insert went through: the coordinator is down, so the attempt waits
        // and says why. A set-up cancelled with the request would have left it claimed and never sent.
        // Until the record is in, the mirror does not know the id and asks the (stopped) coordinator: 503.
        await(() -> {
            var r = given().get("/v1/transactions/{id}", "gone-1");
            return r.statusCode() == 200 && "SPECULATIVE".equals(r.path("status"))
                    && ("" + r.path("message")).contains("did not answer");
        }, "the speculation whose client went away sent to the coordinator");
    }

    @Test
    @Order(9)
    void speculationsPastTheirByteBudgetGet503WhileTheCoordinatorIsOut() {
        // MirrorProfile allows 64K of them by estimate; those of order 8 are still in flight.
        long before = pendingSpeculationBytes();
        assertTrue(before > 0, "speculations of order 8 in flight: " + before);
        StringBuilder writes = new StringBuilder();
        for (int i = 0; i < 10; i++) { // 10 values of 4 kB: about 120K by estimate
            writes.append(i == 0 ? "" : ",").append("{\"key\":\"big-").append(i).append("\",\"value\":\"")
                    .append("x".repeat(4_000)).append("\"}");
        }
        given().contentType(ContentType.JSON).queryParam("speculative", "true")
                .body("{\"id\":\"big-1\",\"writes\":[" + writes + "]}").post("/v1/transactions")
                .then().statusCode(503).body("error", equalTo("UNAVAILABLE"))
                .body("message", containsString("bytes of them by estimate"));
        assertEquals(before, pendingSpeculationBytes(), "the refused one is not counted");
        given().get("/v1/transactions/{id}", "big-1").then().statusCode(503); // not known here: the coordinator is asked
        // A small one still fits.
        given().contentType(ContentType.JSON).queryParam("speculative", "true")
                .body("{\"id\":\"small-1\",\"writes\":[{\"key\":\"small\",\"value\":1}]}").post("/v1/transactions")
                .then().statusCode(202).body("status", equalTo("SPECULATIVE"));
        assertTrue(pendingSpeculationBytes() > before);
    }

    private static long pendingSpeculationBytes() {
        return ((Number) given().get("/v1/status").then().statusCode(200).extract().path("speculations.pendingBytes")).longValue();
    }

    @Test
    @Order(9)
    void badWritesAreRefusedLocallyAsTheCoordinatorWould() {
        Http.put("fw-k", "{not json").then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        Http.put("fw-k", "\"" + "x".repeat(5000) + "\"").then().statusCode(413).body("error", equalTo("TOO_LARGE"));
        Http.put("bad\u0001key", "1").then().statusCode(400).body("error", equalTo("INVALID_KEY"));
        Http.put("k".repeat(20_000), "1").then().statusCode(400).body("error", equalTo("INVALID_KEY"));
        Http.get("k".repeat(20_000)).then().statusCode(400).body("error", equalTo("INVALID_KEY"));
        Http.put("", "1").then().statusCode(400).body("error", equalTo("INVALID_KEY"));
        given().delete("/v1/kv/").then().statusCode(400).body("error", equalTo("INVALID_KEY"));
        post("/v1/transactions", "{\"writes\":[{\"key\":\"k\"}]}").then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        post("/v1/procedures/nope", "{}").then().statusCode(404).body("error", equalTo("NOT_FOUND"));
        post("/v1/procedures/transfer", "{\"from\":\"a\"}").then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        given().contentType(ContentType.JSON).queryParam("speculative", "yes").body("{\"writes\":[{\"key\":\"k\",\"value\":1}]}")
                .post("/v1/transactions").then().statusCode(400).body("message", containsString("speculative must be true or false"));
        given().contentType(ContentType.JSON).queryParam("speculative", "true").body("{not json").put("/v1/kv/{k}", "k")
                .then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        given().contentType(ContentType.JSON).queryParam("speculative", "true").body("{\"writes\":[{\"key\":\"k\"}]}")
                .post("/v1/transactions").then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        given().contentType(ContentType.JSON).queryParam("speculative", "true").body("{\"from\":\"a\"}")
                .post("/v1/procedures/transfer").then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        given().get("/v1/transactions/{id}", "x".repeat(129)).then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        // An exponent whose digit count overflows an int was taken for a small number, then expanded: 500.
        given().contentType(ContentType.JSON).queryParam("speculative", "true").body("{\"key\":\"k\",\"by\":1e2147483647}")
                .post("/v1/procedures/increment").then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        post("/v1/procedures/transfer", "{\"from\":\"a\",\"to\":\"b\",\"amount\":1e2147483647}").then().statusCode(400)
                .body("error", equalTo("BAD_REQUEST"));
        given().contentType(ContentType.JSON).queryParam("timeoutMs", "10e2147483647").body("{\"keys\":[\"a\"],\"timeoutMs\":5}")
                .post("/v1/kv/_batch").then().statusCode(400).body("error", equalTo("BAD_REQUEST"));
        // An empty Presage-Session header counts as absent, as README says (Vert.x gives no value for it).
        try {
            String answer = RawHttp.exchange(io.restassured.RestAssured.port, "GET /v1/kv/no-such-key HTTP/1.1\r\n"
                    + "Host: 127.0.0.1\r\nPresage-Session:\r\nConnection: close\r\n\r\n");
            assertTrue(answer.startsWith("HTTP/1.1 404"), "an empty session header is no session: " + answer);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        given().header("Presage-Session", "s".repeat(129)).get("/v1/kv/{k}", "no-such-key").then().statusCode(400)
                .body("error", equalTo("BAD_REQUEST"));
    }

    @Test
    @Order(10)
    void strongReadsAndReadsBelowTheirMinimumConfidenceGet503WithoutTheCoordinator() {
        given().queryParam("consistency", "strong").get("/v1/kv/{k}", "m-a")
                .then().statusCode(503).body("error", equalTo("UNAVAILABLE"));
        post("/v1/kv/_batch", "{\"keys\":[\"m-a\"],\"consistency\":\"strong\"}")
                .then().statusCode(503).body("error", equalTo("UNAVAILABLE"));
        given().queryParam("minConfidence", "1").get("/v1/kv/{k}", "m-a")
                .then().statusCode(503).body("error", equalTo("UNAVAILABLE"));
        given().queryParam("minConfidence", "0").get("/v1/kv/{k}", "m-a").then().statusCode(200);
    }

    @Test
    @Order(11)
    void reconciliationIsTheCoordinatorsAndAMirrorAnswers404() {
        given().get("/v1/reconcile/{k}", "m-a").then().statusCode(404).body("error", equalTo("NOT_FOUND"));
        post("/v1/reconcile", "{\"keys\":[\"m-a\"]}").then().statusCode(404).body("error", equalTo("NOT_FOUND"));
    }

    // ---- pending updates, lag, calibration -------------------------------------------------------

    @Test
    @Order(12)
    void aKeyWithAReceivedUnappliedUpdateHasConfidenceZeroAndTheLagMakesTheMirrorUnready() throws Exception {
        long seq = log.append(log.txn(put("pend-k", "1")));
        awaitApplied(seq);
        get("pend-k").then().statusCode(200).body("value", equalTo(1)); // now cached
        Response ready = given().get("/q/health/ready");
        assertEquals(200, ready.statusCode(), ready.asString());
        // Hold the items table so the applier's next transaction waits: the update is received, not applied.
        try (Connection c = jdbc(); Statement s = c.createStatement()) {
            c.setAutoCommit(false);
            s.execute("lock table items in exclusive mode");
            LogTxn update = log.txn(put("pend-k", "2"));
            long next = log.append(update);
            await(() -> given().get("/v1/status").jsonPath().getInt("validation.pendingKeys") > 0, "the update received");
            Response r = get("pend-k");
            r.then().statusCode(200).body("value", equalTo(1)).body("confidence", equalTo(0.0f));
            post("/v1/kv/_batch", "{\"keys\":[\"pend-k\",\"m-a\"]}").then().statusCode(200)
                    .body("items[0].confidence", equalTo(0.0f)).body("items[1].confidence", greaterThan(0f));
            await(() -> given().get("/q/health/ready").statusCode() == 503, "readiness down while lag > 1 s");
            assertTrue(given().get("/q/health/ready").asString().contains("replication-lag"));
            assertTrue(given().get("/v1/status").jsonPath().getLong("lag.sequences") >= 1);
            c.rollback();
            awaitApplied(next);
        }
        get("pend-k").then().statusCode(200).body("value", equalTo(2)).body("confidence", greaterThan(0f));
        await(() -> given().get("/q/health/ready").statusCode() == 200, "ready again once caught up");
        // The read answered with the old value while the update was pending was not current; the log says so.
        await(() -> given().get("/v1/status").jsonPath().getList("calibration").stream()
                .anyMatch(row -> ((Map<?, ?>) row).get("bucket").equals("0.0-0.1")
                        && ((Number) ((Map<?, ?>) row).get("samples")).longValue() > ((Number) ((Map<?, ?>) row).get("current")).longValue()),
                "a stale sample in the lowest decile");
        List<String> lines = java.nio.file.Files.readAllLines(MirrorProfile.CALIBRATION_LOG);
        assertTrue(lines.stream().anyMatch(l -> l.contains("\"key\":\"pend-k\"") && l.contains("\"current\":false")),
                "the stale sample in the calibration log: " + lines.size() + " lines");
        String metrics = given().get("/q/metrics").asString();
        for (String m : List.of("presage_reads_total{consistency=\"predictive\",source=\"local\"}",
                "presage_replication_lag_seconds", "presage_read_confidence_count", "presage_confidence_samples_total{bucket=\"0.0\",current=\"false\"}",
                "presage_apply_batch_seconds")) {
            assertTrue(metrics.contains(m), m + " in /q/metrics");
        }
    }

    @Test
    @Order(13)
    void statusReportsTheMirrorsPositionLagCacheAndCoordinator() {
        Response s = given().get("/v1/status");
        s.then().statusCode(200).body("role", equalTo("mirror")).body("nodeId", equalTo("mirror1"))
                .body("lag.sequences", equalTo(0)).body("lag.seconds", equalTo(0.0f))
                .body("coordinator.url", containsString("http://127.0.0.1:")).body("deadLetters", equalTo(0));
        assertTrue(s.jsonPath().getLong("appliedSequence") > 0);
        assertTrue(s.jsonPath().getLong("cache.hits") > 0);
        assertTrue(s.jsonPath().getInt("cache.keys") <= 64, "the cache stays within its bound");
    }

    @Test
    @Order(14)
    void fifteenHundredRandomBadRequestsAllGetAnAnswerTheApiAllows() throws Exception {
        ApiFuzz.everyAnswerKeepsTheContract(io.restassured.RestAssured.port, 20261128L, 1_500);
    }

    @Test
    @Order(15)
    void aCacheLeftBehindAStoreReadIsNotReadUntilItCatchesUp() throws Exception {
        // More keys than the cache holds (64), so that a miss asks the store.
        LogWrite[] many = new LogWrite[80];
        for (int i = 0; i < many.length; i++) {
            many[i] = put("mono-" + i, "0");
        }
        log.append(log.txn(many));
        long at = log.append(log.txn(put("mono-hit", "1")));
        awaitApplied(at);
        get("mono-hit");
        Response hit = get("mono-hit");
        assertEquals(at, hit.jsonPath().getLong("sequence"));
        assertEquals(false, given().get("/v1/status").jsonPath().getBoolean("cache.complete"));

        // The applier's transaction for at + 1 committed, but its connection dropped on the reply: the
        // store is ahead, and the applier, restarting, has not told the cache.
        try (Connection c = jdbc(); Statement s = c.createStatement()) {
            s.executeUpdate("insert into items (item_key, item_value, version, vclock, seq) values ('mono-store', '2', 1, '{}', "
                    + (at + 1) + ")");
            s.executeUpdate("update apply_state set last_seq = " + (at + 1));
            try {
                Response ahead = get("mono-store"); // a miss: read from the store, answered at at + 1 after a wait
                assertEquals(at + 1, ahead.jsonPath().getLong("sequence"), ahead.asString());
                Response next = get("mono-hit");
                assertTrue(next.jsonPath().getLong("sequence") >= at + 1,
                        "a read after one answered at " + (at + 1) + " went back to the cache's " + next.asString());
            } finally {
                s.executeUpdate("delete from items where item_key = 'mono-store'");
                s.executeUpdate("update apply_state set last_seq = " + at);
            }
        }
    }

    @Test
    @Order(99)
    void aParkedDeadLetterMakesTheMirrorUnreadyUntilAnOperatorClearsItButReadsGoOn() throws Exception {
        long garbage = log.appendRaw("not a batch".getBytes(StandardCharsets.UTF_8));
        await(() -> given().get("/v1/status").jsonPath().getLong("deadLetters") == 1, "the message parked");
        assertEquals(garbage, given().get("/v1/status").jsonPath().getLong("appliedSequence"));
        given().get("/q/health/ready").then().statusCode(503);
        long after = log.append(log.txn(put("after-garbage", "1")));
        awaitApplied(after);
        get("after-garbage").then().statusCode(200).body("value", equalTo(1));
        given().get("/q/health/ready").then().statusCode(503);

        // The operator has looked at the parked message and deletes its row: ready again, no restart.
        try (Connection c = jdbc(); Statement s = c.createStatement()) {
            assertEquals(1, s.executeUpdate("delete from dead_letters where seq = " + garbage));
        }
        await(() -> given().get("/v1/status").jsonPath().getLong("deadLetters") == 0, "the cleared row no longer counted");
        await(() -> given().get("/q/health/ready").statusCode() == 200, "ready again once nothing is parked");
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** The items of a batch answer (confidence changes with time; the data must not). */
    private static List<Map<String, Object>> withoutConfidence(Response r) {
        List<Map<String, Object>> items = r.jsonPath().getList("items");
        for (Map<String, Object> i : items) {
            i.remove("confidence");
        }
        return items;
    }

    private static void awaitApplied(long seq) {
        await(() -> given().get("/v1/status").jsonPath().getLong("appliedSequence") >= seq, "applied " + seq);
    }

    private static void await(BooleanSupplier condition, String what) {
        await(condition, () -> what);
    }

    private static void await(BooleanSupplier condition, Supplier<String> what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("not " + what.get() + " in time");
            }
            Http.sleep(20);
        }
    }

    private static Connection jdbc() throws Exception {
        Config config = ConfigProvider.getConfig();
        return DriverManager.getConnection(config.getValue("quarkus.datasource.jdbc.url", String.class),
                config.getValue("quarkus.datasource.username", String.class),
                config.getOptionalValue("quarkus.datasource.password", String.class).orElse(""));
    }
}
