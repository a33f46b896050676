package io.presage.it;

import static io.presage.it.JsonHttp.json;
import static io.presage.it.JsonHttp.outcome;
import static io.presage.it.JsonHttp.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import com.fasterxml.jackson.databind.JsonNode;

import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;

/**
 * Review of speculative procedure calls end to end: a packaged coordinator and a packaged mirror, each
 * with its own PostgreSQL database, on a real NATS. Logs in target/speculation-review-it/.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SpeculationReviewIT {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(300);
    private static final Path LOGS = NodeProcess.BASE_DIR.resolve("target/speculation-review-it");
    private static final long HOLD = 4242;

    private static CoordinatorAndMirror nodes;
    private static NatsTestServer nats;
    private static PostgresTestServer pg;
    private static String mirrorDb;
    private static NodeProcess coordinator;
    private static NodeProcess mirror;

    @BeforeAll
    static void start() throws Exception {
        nodes = CoordinatorAndMirror.start(LOGS, READY_TIMEOUT, Map.of(), db -> Map.of("PRESAGE_MIRROR_FORWARD_TIMEOUT", "3s"));
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
    }

    /**
     * One increment call, id {@code rv-dc-call}, speculated at the mirror and also sent to the coordinator
     * (a client's retry there; another mirror's speculation of the call does the same). The mirror's copy
     * of the key is behind (its applier is held by a lock on its items table) and holds a string, so the
     * procedure refuses there; the mirror then re-executes on the coordinator's latest data as attempt
     * {@code rv-dc-call#1}, never sending {@code #0}. Its store is slow to record that attempt (a trigger
     * waits on an advisory lock the test holds), and meanwhile the coordinator runs the same call, finds
     * none of its attempt ids committed and commits {@code #0}. The mirror's attempt then goes out too and
     * the call is applied twice: 5 becomes 7, not 6.
     */
    @Test
    @Order(1)
    void aCallSpeculatedAtTheMirrorAndRetriedAtTheCoordinatorIsAppliedOnce() throws Exception {
        speculateBehind("rv-dc", "\"not a number yet\"", "rv-dc-call", "new.id = 'rv-dc-call'", (accepted, attempts) -> {
            assertFalse(accepted.has("result"), "refused on the mirror's copy: " + accepted);
            AdvisoryHold.awaitWaiter(attempts, HOLD, "the mirror's attempt record");

            JsonNode atCoordinator = json(send(coordinator, "POST", "/v1/procedures/increment?id=rv-dc-call",
                    "{\"key\":\"rv-dc\"}"), 200);
            assertEquals("COMMITTED", atCoordinator.path("status").asText(), atCoordinator.toString());
            assertEquals(6, atCoordinator.path("result").asInt(), atCoordinator.toString());
        });
        JsonNode atMirror = outcome(mirror, "rv-dc-call");
        JsonNode value = json(send(coordinator, "GET", "/v1/kv/rv-dc", null), 200);
        JsonNode call = json(send(coordinator, "GET", "/v1/transactions/rv-dc-call", null), 200);
        assertEquals(6, value.path("value").asInt(), "one call, id rv-dc-call, applied once. The mirror says " + atMirror
                + "; the coordinator says " + call);
    }

    /**
     * A speculation answered 202 with result 1, made while the coordinator is down, survives a SIGKILL of
     * the mirror; before the mirror is back another client sets the counter to 10 at the coordinator. The
     * restarted mirror runs the call on the latest data (10 + 1) and reports it COMMITTED, which means
     * "committed as speculated", with result 11 and no speculativeResult: the client answered 1 learns
     * nothing of the difference. REEXECUTED (result 11) is what happened.
     */
    @Test
    @Order(2)
    void aSpeculationResumedAfterAMirrorCrashIsNotCommittedWithAResultThe202DidNotAnswer() throws Exception {
        coordinator.stop();
        JsonNode accepted = json(send(mirror, "POST", "/v1/procedures/increment?speculative=true&id=rv-off",
                "{\"key\":\"rv-off\"}"), 202);
        assertEquals(1, accepted.path("result").asInt(), accepted.toString());
        Thread.sleep(300);
        mirror.kill();

        coordinator.start();
        coordinator.awaitReady(READY_TIMEOUT);
        json(send(coordinator, "PUT", "/v1/kv/rv-off", "10"), 200);
        mirror.start();
        mirror.awaitReady(READY_TIMEOUT);

        JsonNode o = outcome(mirror, "rv-off");
        int counter = json(send(coordinator, "GET", "/v1/kv/rv-off", null), 200).path("value").asInt();
        assertEquals(11, counter, "the call committed once, on the latest data: " + o);
        assertTrue(!o.path("status").asText().equals("COMMITTED") || o.path("result").asInt() == 1,
                "reported COMMITTED with result " + o.path("result") + " while the 202 answered 1: " + o);
    }

    /**
     * The same call applied twice without a refusal on local data, through a coordinator restart. The
     * mirror's copy is behind, so its attempt {@code rs-call#0} aborts; its attempt {@code #1} is planned
     * and waits for its record (the trigger). The coordinator restarts, which forgets the abort of
     * {@code #0} (aborts are kept in memory only), and the call retried there finds no attempt committed
     * and commits {@code #0}. The mirror's {@code #1} then goes out, loses to it, and its {@code #2}
     * commits as well: 5 becomes 7.
     */
    @Test
    @Order(3)
    void aCallWhoseFirstAttemptAbortedBeforeACoordinatorRestartIsAppliedOnce() throws Exception {
        speculateBehind("rv-rs", "1", "rv-rs-call", "new.id = 'rv-rs-call' and new.attempt = 1", (accepted, attempts) -> {
            assertEquals(2, accepted.path("result").asInt(), "planned on the mirror's copy: " + accepted);
            AdvisoryHold.awaitWaiter(attempts, HOLD, "the mirror's attempt record"); // #0 aborted, #1 waits for its record

            coordinator.stop();
            coordinator.start();
            coordinator.awaitReady(READY_TIMEOUT);
            JsonNode atCoordinator = json(send(coordinator, "POST", "/v1/procedures/increment?id=rv-rs-call",
                    "{\"key\":\"rv-rs\"}"), 200);
            assertEquals(6, atCoordinator.path("result").asInt(), atCoordinator.toString());
        });
        JsonNode atMirror = outcome(mirror, "rv-rs-call");
        JsonNode value = json(send(coordinator, "GET", "/v1/kv/rv-rs", null), 200);
        assertEquals(6, value.path("value").asInt(), "one call, id rv-rs-call, applied once. The mirror says " + atMirror);
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** What a test does while its speculation is held: given the mirror's 202 and a statement of the session holding the lock. */
    @FunctionalInterface
    private interface WhileHeld {
        void run(JsonNode accepted, Statement attempts) throws Exception;
    }

    /**
     * Speculates increment call {@code call} of {@code key} at the mirror while the mirror's copy of the key
     * is behind (it has {@code first}, the coordinator 5) and while its store cannot record the attempts that
     * the trigger condition {@code when} picks (they wait on the advisory lock the test holds); runs
     * {@code whileHeld}, then lets the store and the applier go on.
     */
    private static void speculateBehind(String key, String first, String call, String when, WhileHeld whileHeld)
            throws Exception {
        String token = json(send(coordinator, "PUT", "/v1/kv/" + key, first), 200).path("token").asText();
        json(send(mirror, "GET", "/v1/kv/" + key + "?consistency=causal&timeoutMs=20000&after=" + token, null), 200);
        try (Connection admin = db(); Statement s = admin.createStatement()) {
            s.execute("create or replace function rv_hold() returns trigger language plpgsql as $$ begin "
                    + "perform pg_advisory_xact_lock(" + HOLD + "); return new; end $$");
            s.execute("create trigger rv_hold_" + key.replace('-', '_') + " before update on speculations for each row "
                    + "when (" + when + ") execute function rv_hold()");
        }
        try (Connection applier = db(); Statement items = applier.createStatement();
             Connection store = db(); Statement attempts = store.createStatement()) {
            applier.setAutoCommit(false);
            items.execute("lock table items in exclusive mode"); // the mirror's applier waits: its copy stays behind
            json(send(coordinator, "PUT", "/v1/kv/" + key, "5"), 200);
            attempts.execute("select pg_advisory_lock(" + HOLD + ")"); // the mirror's attempt record waits

            JsonNode accepted = json(send(mirror, "POST", "/v1/procedures/increment?speculative=true&id=" + call,
                    "{\"key\":\"" + key + "\"}"), 202);
            whileHeld.run(accepted, attempts);

            attempts.execute("select pg_advisory_unlock(" + HOLD + ")");
            applier.rollback();
        }
    }

    private static Connection db() throws Exception {
        return DriverManager.getConnection(pg.jdbcUrl(mirrorDb), pg.username(), pg.password());
    }
}
