package io.presage.it;

import static io.presage.it.LogWriter.put;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.presage.coord.Tokens;
import io.presage.log.BatchCodec;
import io.presage.log.LogBatch;
import io.presage.log.LogTxn;
import io.presage.log.proto.Batch;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
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

    public static class Profile implements QuarkusTestProfile {
        @Override
        public String getConfigProfile() {
            return "mirror";
        }

        @Override
        public List<TestResourceEntry> testResources() {
            return List.of(new TestResourceEntry(Servers.class));
        }
    }

    /** Real NATS and PostgreSQL, and a fake coordinator that answers reconcile with System property {@link #ANSWER}. */
    public static class Servers extends RealServers {
        private HttpServer fake;

        @Override
        public Map<String, String> start() {
            Map<String, String> cfg = super.start();
            try {
                fake = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            fake.createContext("/v1/ping", ex -> answer(ex, 200, "{}"));
            fake.createContext("/v1/reconcile", ex -> {
                ex.getRequestBody().readAllBytes();
                String body = System.getProperty(ANSWER);
                answer(ex, body == null ? 503 : 200, body == null ? "{\"error\":\"UNAVAILABLE\",\"message\":\"x\"}" : body);
            });
            fake.start();
            cfg.put("presage.node-id", "mirror1");
            cfg.put("presage.mirror.coordinator-url", "http://127.0.0.1:" + fake.getAddress().getPort());
            cfg.put("presage.mirror.forward-timeout", "2s");
            return cfg;
        }

        private static void answer(HttpExchange ex, int status, String body) throws IOException {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(status, b.length);
            try (OutputStream o = ex.getResponseBody()) {
                o.write(b);
            }
        }

        @Override
        public void stop() {
            if (fake != null) {
                fake.stop(0);
            }
            super.stop();
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
        long s1 = log.append(log.txn(put("dl-k", "1")));
        Http.awaitApplied(s1);
        // The client's write, in a message this mirror cannot decode: a batch format version it does not
        // know (as from a coordinator upgraded before it).
        LogTxn written = log.txn(put("dl-k", "2"));
        byte[] bytes = new BatchCodec().encode(LogBatch.of("coordinator", 1, 0, 999_999, List.of(written)));
        assertEquals(0, bytes[5], "uncompressed");
        Batch b = Batch.parseFrom(Arrays.copyOfRange(bytes, BatchCodec.HEADER_BYTES, bytes.length));
        byte[] v2 = b.toBuilder().setFormatVersion(2).build().toByteArray();
        byte[] msg = new byte[BatchCodec.HEADER_BYTES + v2.length];
        System.arraycopy(bytes, 0, msg, 0, BatchCodec.HEADER_BYTES);
        ByteBuffer.wrap(msg, 6, 4).putInt(v2.length);
        System.arraycopy(v2, 0, msg, BatchCodec.HEADER_BYTES, v2.length);
        long s2 = log.appendRaw(msg);
        Http.awaitApplied(s2);

        Response predictive = given().get("/v1/kv/{k}", "dl-k");
        assertEquals(1, predictive.jsonPath().getInt("value"));
        assertEquals(0.0, predictive.jsonPath().getDouble("confidence"),
                "which keys the parked message wrote is unknown: " + predictive.asString());

        System.setProperty(ANSWER, "{\"items\":[{\"key\":\"dl-k\",\"value\":2,\"version\":" + written.timestamp()
                + ",\"vclock\":{\"coordinator\":" + written.timestamp() + "},\"sequence\":" + s2 + "}],\"sequence\":" + s2 + "}");
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
}
