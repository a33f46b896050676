package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.coord.Tokens;
import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;

/**
 * A mirror forwarding to, and reconciling with, a live coordinator: both are the packaged application
 * in separate processes (Failsafe, after package), each with its own database, on a real NATS started
 * by the test. Output in target/mirror-it/.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MirrorForwardingIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Path LOGS = NodeProcess.BASE_DIR.resolve("target/mirror-it");
    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .proxy(HttpClient.Builder.NO_PROXY).connectTimeout(Duration.ofSeconds(2)).build();

    private static NatsTestServer nats;
    private static NodeProcess coordinator;
    private static NodeProcess mirror;

    @BeforeAll
    static void start() throws Exception {
        nats = NatsTestServer.start();
        PostgresTestServer pg = PostgresTestServer.get();
        coordinator = NodeProcess.coordinator(nats, pg, pg.createDatabase(), LOGS);
        mirror = NodeProcess.mirror("mirror1", coordinator, nats, pg, pg.createDatabase(), LOGS,
                Map.of("PRESAGE_MIRROR_FORWARD_TIMEOUT", "3s"));
        coordinator.start();
        mirror.start();
        coordinator.awaitReady(READY_TIMEOUT);
        mirror.awaitReady(READY_TIMEOUT);
    }

    @AfterAll
    static void stop() throws Exception {
        NodeProcess.stopAll(mirror, coordinator);
        if (nats != null) {
            nats.close();
        }
    }

    @Test
    @Order(1)
    void aWriteAtTheMirrorIsCommittedByTheCoordinatorAndItsTokenGivesReadYourWritesThere() throws Exception {
        HttpResponse<String> w = send(mirror, "PUT", "/v1/kv/fw%20key/1", "{\"n\":1}");
        assertEquals(200, w.statusCode(), w.body());
        JsonNode committed = JSON.readTree(w.body());
        assertEquals("COMMITTED", committed.path("status").asText());
        String token = committed.path("token").asText();
        JsonNode r = json(send(mirror, "GET", "/v1/kv/fw%20key/1?consistency=causal&timeoutMs=10000&after=" + token, null), 200);
        assertEquals(1, r.path("value").path("n").asInt());
        assertEquals(committed.path("timestamp").asLong(), r.path("version").asLong());
        assertEquals("local", r.path("source").asText());
        assertTrue(r.path("sequence").asLong() >= Tokens.position(token));
        // The coordinator has it under the same key.
        assertEquals(committed.path("timestamp").asLong(),
                json(send(coordinator, "GET", "/v1/kv/fw%20key/1", null), 200).path("version").asLong());
        // Deletes too.
        HttpResponse<String> d = send(mirror, "DELETE", "/v1/kv/fw%20key/1", null);
        assertEquals(200, d.statusCode(), d.body());
        String t2 = JSON.readTree(d.body()).path("token").asText();
        assertEquals(404, send(mirror, "GET", "/v1/kv/fw%20key/1?consistency=causal&after=" + t2, null).statusCode());
    }

    @Test
    @Order(2)
    void strongReadsAndReadsBelowMinConfidenceAreAnsweredByThePrimary() throws Exception {
        long ts = JSON.readTree(send(coordinator, "PUT", "/v1/kv/strong-a", "\"A\"").body()).path("timestamp").asLong();
        send(coordinator, "PUT", "/v1/kv/strong-b", "\"B\"");
        JsonNode s = json(send(mirror, "GET", "/v1/kv/strong-a?consistency=strong", null), 200);
        assertEquals("primary", s.path("source").asText());
        assertEquals("A", s.path("value").asText());
        assertEquals(ts, s.path("version").asLong());
        assertEquals(1.0, s.path("confidence").asDouble());
        JsonNode low = json(send(mirror, "GET", "/v1/kv/strong-a?minConfidence=1", null), 200);
        assertEquals("primary", low.path("source").asText());
        JsonNode batch = json(send(mirror, "POST", "/v1/kv/_batch",
                "{\"keys\":[\"strong-a\",\"strong-b\",\"strong-none\"],\"consistency\":\"strong\"}"), 200);
        assertEquals("primary", batch.path("source").asText());
        assertEquals("B", batch.path("items").get(1).path("value").asText());
        assertEquals(0, batch.path("items").get(2).path("version").asLong());
        assertEquals(404, send(mirror, "GET", "/v1/kv/strong-none?consistency=strong", null).statusCode());
    }

    @Test
    @Order(3)
    void transactionsAndProceduresAreForwardedAndAnsweredWithTheCoordinatorsOutcome() throws Exception {
        send(coordinator, "PUT", "/v1/kv/fw-acct-a", "100");
        send(coordinator, "PUT", "/v1/kv/fw-acct-b", "0");
        String transfer = "{\"from\":\"fw-acct-a\",\"to\":\"fw-acct-b\",\"amount\":30}";
        JsonNode first = json(send(mirror, "POST", "/v1/procedures/transfer?id=fw-t1", transfer), 200);
        JsonNode again = json(send(mirror, "POST", "/v1/procedures/transfer?id=fw-t1", transfer), 200);
        assertEquals(first.path("timestamp").asLong(), again.path("timestamp").asLong(), "the id made it idempotent");
        JsonNode b = json(send(mirror, "GET", "/v1/kv/fw-acct-b?consistency=causal&after=" + again.path("token").asText(), null), 200);
        assertEquals(30, b.path("value").asInt(), "applied once");
        long stale = b.path("version").asLong(); // overwritten next, and the written key after that
        send(coordinator, "PUT", "/v1/kv/fw-acct-b", "1");
        send(coordinator, "PUT", "/v1/kv/fw-acct-w", "1");
        HttpResponse<String> aborted = send(mirror, "POST", "/v1/transactions", "{\"reads\":[{\"key\":\"fw-acct-b\",\"version\":"
                + stale + "}],\"writes\":[{\"key\":\"fw-acct-w\",\"value\":2}]}");
        assertEquals(409, aborted.statusCode(), aborted.body());
        assertEquals("ABORTED", JSON.readTree(aborted.body()).path("error").asText());
        assertEquals(404, send(mirror, "POST", "/v1/procedures/nope", "{}").statusCode());
    }

    @Test
    @Order(4)
    void concurrentStrongReadsShareReconciliationRequests() throws Exception {
        long postsBefore = json(send(mirror, "GET", "/v1/status", null), 200).path("reconcilePosts").asLong();
        int reads = 200;
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<Integer>> answers = new ArrayList<>();
        for (int i = 0; i < reads; i++) {
            String key = "strong-" + (i % 2 == 0 ? "a" : "b");
            answers.add(pool.submit(() -> send(mirror, "GET", "/v1/kv/" + key + "?consistency=strong", null).statusCode()));
        }
        for (Future<Integer> f : answers) {
            assertEquals(200, f.get(60, TimeUnit.SECONDS));
        }
        pool.shutdown();
        long posts = json(send(mirror, "GET", "/v1/status", null), 200).path("reconcilePosts").asLong() - postsBefore;
        assertTrue(posts < reads, reads + " strong reads took " + posts + " reconciliation requests");
    }

    @Test
    @Order(5)
    void withTheCoordinatorStoppedWritesAndStrongReadsGet503AndLocalReadsGoOn() throws Exception {
        coordinator.stop();
        HttpResponse<String> w = send(mirror, "PUT", "/v1/kv/strong-a", "1");
        assertEquals(503, w.statusCode(), w.body());
        assertEquals("UNAVAILABLE", JSON.readTree(w.body()).path("error").asText());
        assertEquals(503, send(mirror, "GET", "/v1/kv/strong-a?consistency=strong", null).statusCode());
        JsonNode local = json(send(mirror, "GET", "/v1/kv/strong-a", null), 200);
        assertEquals("A", local.path("value").asText());
        assertTrue(local.path("confidence").asDouble() > 0.5,
                "NATS is up, so nothing can have committed: the local answer stays trusted");
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static HttpResponse<String> send(NodeProcess n, String method, String path, String body) throws IOException {
        HttpRequest.Builder b = HttpRequest.newBuilder(n.uri(path)).timeout(Duration.ofSeconds(20));
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        }
    }

    private static JsonNode json(HttpResponse<String> r, int status) throws IOException {
        assertEquals(status, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }
}
