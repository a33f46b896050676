package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

import io.presage.it.JsonHttp.Answer;
import io.presage.it.ReplyLosingPgProxy.Loss;
import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;

/**
 * A speculative call whose record in the mirror's PostgreSQL fails with its outcome unknown: a packaged
 * coordinator and a packaged mirror on a real NATS, the mirror reaching its real PostgreSQL through a
 * {@link ReplyLosingPgProxy} that lets an insert commit and loses its reply, or loses the insert itself.
 * A client told 503 ("nothing was done") must find nothing done, ever; a recorded speculation must be
 * carried on with and decided, not left "being resumed" until a restart. Logs in target/speculation-record-lost-it/.
 */
class SpeculationRecordLostIT {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(300);
    private static final Path LOGS = NodeProcess.BASE_DIR.resolve("target/speculation-record-lost-it");

    private static CoordinatorAndMirror nodes;
    private static NatsTestServer nats;
    private static PostgresTestServer pg;
    private static String mirrorDb;
    private static ReplyLosingPgProxy proxy;
    private static NodeProcess coordinator;
    private static NodeProcess mirror;

    @BeforeAll
    static void start() throws Exception {
        proxy = new ReplyLosingPgProxy(PostgresTestServer.get().port());
        nodes = CoordinatorAndMirror.start(LOGS, READY_TIMEOUT, Map.of(),
                db -> Map.of("QUARKUS_DATASOURCE_REACTIVE_URL", "postgresql://127.0.0.1:" + proxy.port() + "/" + db));
        nats = nodes.nats;
        pg = nodes.pg;
        mirrorDb = nodes.mirrorDb;
        coordinator = nodes.coordinator;
        mirror = nodes.mirror;
    }

    @AfterAll
    static void stop() throws Exception {
        if (nodes != null) {
            nodes.close();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    /**
     * The record committed and its reply was lost. Answered 503, the client would take it as not done,
     * yet the mirror kept the row and committed it at its next restart (while until then a retry heard
     * "being resumed" and nothing resumed it). The mirror finds its record there and carries on: 202.
     */
    @Test
    void aSpeculationWhoseRecordCommittedButWhoseReplyWasLostIsAcceptedAndCommitted() throws Exception {
        String id = "rl-reply-lost";
        proxy.arm(id, 1, Loss.REPLY);
        Answer a = speculate(id, "rl-a");
        assertEquals(202, a.status(), a.toString());
        assertCommittedOnce(id);
    }

    /** The record never reached the store: 503 is true, and a retry under the id is recorded and commits. */
    @Test
    void aSpeculationWhoseRecordNeverReachedTheStoreIs503AndItsRetryCommits() throws Exception {
        String id = "rl-not-recorded";
        proxy.arm(id, 1, Loss.STATEMENT);
        Answer first = speculate(id, "rl-b");
        assertEquals(503, first.status(), first.toString());
        assertEquals(0, undecidedRows(id), "nothing to resume at a restart");
        Answer retry = speculate(id, "rl-b");
        assertEquals(202, retry.status(), retry.toString());
        assertCommittedOnce(id);
    }

    /**
     * The record committed and its reply was lost, and so were the replies of the mirror's looks at whether
     * it took: the outcome is not known, 504 with the id. The mirror still carries it on, without waiting
     * for a retry or a restart, and the call is committed.
     */
    @Test
    void aSpeculationWhoseRecordCannotBeToldIs504AndIsCarriedOnWithoutARetry() throws Exception {
        answered504("rl-unknown", "rl-c");
        assertCommittedOnce("rl-unknown");
    }

    /** As above, and the client retries at once under the id: 202, and the call is committed once. */
    @Test
    void aRetryOfASpeculationAnswered504IsAcceptedAndCommittedOnce() throws Exception {
        answered504("rl-unknown-retried", "rl-d");
        Answer retry = speculate("rl-unknown-retried", "rl-d");
        assertEquals(202, retry.status(), retry.toString());
        assertCommittedOnce("rl-unknown-retried");
    }

    /** A speculative call whose record, and every look at whether it took, lose their replies: 504 with the id. */
    private static void answered504(String id, String key) {
        proxy.arm(id, Integer.MAX_VALUE, Loss.REPLY);
        Answer a = speculate(id, key);
        proxy.disarm();
        assertEquals(504, a.status(), a.toString());
        assertEquals(id, a.json().path("id").asText(), a.toString());
    }

    /**
     * Two speculative calls under one id at once; the first one's record never reaches the store (503).
     * The second, arriving while the first's record is under way, was answered 202 from the first's entry
     * at once, and the id then answered 404: a speculation accepted and never carried on with. Whatever
     * the second is told must hold: 202 and the call is committed, or the first's 503 and nothing is.
     */
    @Test
    void aSecondCallUnderTheIdOfASpeculationBeingSetUpIsToldWhatBecameOfIt() throws Exception {
        String id = "rl-concurrent";
        int lostBefore = proxy.lost.get();
        proxy.arm(id, 1, Loss.HELD_STATEMENT);
        CompletableFuture<Answer> first = CompletableFuture.supplyAsync(() -> speculate(id, "rl-e"));
        awaitLost(lostBefore + 1);
        CompletableFuture<Answer> second = CompletableFuture.supplyAsync(() -> speculate(id, "rl-e"));
        try {
            second.get(1, TimeUnit.SECONDS); // answered at once before the fix; waits for the first after it
        } catch (TimeoutException waiting) {
            // waiting for the first call's set-up, as it should
        }
        proxy.release();
        Answer one = first.get(20, TimeUnit.SECONDS);
        Answer two = second.get(20, TimeUnit.SECONDS);
        assertEquals(503, one.status(), one.toString());
        if (two.status() == 202) {
            assertCommittedOnce(id);
        } else {
            assertEquals(503, two.status(), two.toString());
            Answer o = JsonHttp.send(JsonHttp.get(mirror.uri("/v1/transactions/" + id)));
            assertEquals(404, o.status(), "the second call told 503 finds nothing done: " + o);
        }
    }

    private static void awaitLost(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (proxy.lost.get() < n) {
            assertTrue(System.nanoTime() < deadline, "the mirror never sent the record");
            Thread.sleep(10);
        }
    }

    private static Answer speculate(String id, String key) {
        return JsonHttp.send(JsonHttp.post(mirror.uri("/v1/transactions?speculative=true"),
                "{\"id\":\"" + id + "\",\"reads\":[],\"writes\":[{\"key\":\"" + key + "\",\"value\":1}]}"));
    }

    /** The mirror reports the speculation COMMITTED within 30 s, and the coordinator committed the id. */
    private static void assertCommittedOnce(String id) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Answer o;
        do {
            o = JsonHttp.send(JsonHttp.get(mirror.uri("/v1/transactions/" + id)));
            if (o.status() == 200 && !o.json().path("status").asText().equals("SPECULATIVE")) {
                break;
            }
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        assertEquals("COMMITTED", o.json().path("status").asText(), "at the mirror: " + o);
        Answer c = JsonHttp.send(JsonHttp.get(coordinator.uri("/v1/transactions/" + id)));
        assertEquals(200, c.status(), c.toString());
        assertEquals("COMMITTED", c.json().path("status").asText(), c.toString());
        assertEquals(0, undecidedRows(id), "decided in the mirror's store too");
    }

    private static int undecidedRows(String id) throws Exception {
        try (Connection db = DriverManager.getConnection(pg.jdbcUrl(mirrorDb), pg.username(), pg.password());
                PreparedStatement ps = db.prepareStatement("select count(*) from speculations where id = ? and finished_ms is null")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}
