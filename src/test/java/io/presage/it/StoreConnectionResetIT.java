package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.presage.apply.PoolTimeoutEchoes;
import io.presage.it.JsonHttp.Answer;
import io.presage.it.ReplyLosingPgProxy.Loss;
import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;

/**
 * A packaged coordinator whose PostgreSQL connection is reset (RST) under a statement, as stopping the
 * server under load does (the launcher's PostgreSQL stopped with {@code pg_ctl stop -m fast} while
 * transfers ran gave four clients a 500 {@code INTERNAL} and a stack trace each in the log, all from
 * {@code java.net.SocketException: Connection reset}). It is an outage like a refused connection: 503,
 * retry, and the retry under the same id commits once. Real NATS and PostgreSQL, the coordinator reaching
 * its database through a {@link ReplyLosingPgProxy}. Logs in target/store-connection-reset-it/.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class StoreConnectionResetIT {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(300);
    private static final Path LOGS = NodeProcess.BASE_DIR.resolve("target/store-connection-reset-it");
    private static final Duration CONNECTION_WAIT = Duration.ofSeconds(2);

    private static NatsTestServer nats;
    private static ReplyLosingPgProxy proxy;
    private static NodeProcess coordinator;

    @BeforeAll
    static void start() throws Exception {
        nats = NatsTestServer.start();
        PostgresTestServer pg = PostgresTestServer.get();
        proxy = new ReplyLosingPgProxy(pg.port());
        String db = pg.createDatabase();
        coordinator = NodeProcess.coordinator("coordinator", nats, pg, db, LOGS,
                Map.of("QUARKUS_DATASOURCE_REACTIVE_URL", "postgresql://127.0.0.1:" + proxy.port() + "/" + db,
                        // A statement waits this long for a connection; the pool's timers fire that long after
                        // their statements (Vert.x's default, 30 s, made this test wait half a minute).
                        "PRESAGE_APPLY_CONNECTION_WAIT", CONNECTION_WAIT.toMillis() + "ms",
                        // Each echo the handler keeps out of the error log is still logged at DEBUG: the test
                        // waits for them instead of for a fixed time.
                        "quarkus.log.category.\"" + PoolTimeoutEchoes.class.getName() + "\".level", "DEBUG"));
        coordinator.start();
        coordinator.awaitReady(READY_TIMEOUT);
    }

    @AfterAll
    static void stop() throws Exception {
        NodeProcess.stopAll(coordinator);
        if (nats != null) {
            nats.close();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    @Test
    @Order(1)
    void aConnectionResetUnderAnIdLookupIs503AndTheRetryCommitsOnce() throws Exception {
        put("reset-from", "100");
        put("reset-to", "0");
        String id = "reset-call";
        int lostBefore = proxy.lost.get();
        // A call under a new id asks the database whether the id committed before: that statement is reset.
        proxy.arm(id, 1, Loss.RESET);
        Answer first = transfer(id);
        assertEquals(lostBefore + 1, proxy.lost.get(), "the id lookup went through the proxy and was reset");
        assertEquals(503, first.status(), first.toString());
        assertEquals("UNAVAILABLE", first.json().path("error").asText(), first.toString());

        Answer retry = transfer(id);
        assertEquals(200, retry.status(), retry.toString());
        Answer again = transfer(id);
        assertEquals(200, again.status(), again.toString());
        assertEquals("90", JsonHttp.send(JsonHttp.get(coordinator.uri("/v1/kv/reset-from"))).json().path("value").asText(),
                "moved once");
    }

    /**
     * The database refuses connections (the proxy closed: as PostgreSQL stopped). Each statement that found
     * no connection was answered 503 at once, and then, when the reactive pool's connection timeout
     * ({@code presage.apply.connection-wait}, 30 s by default) ran out, Vert.x logged an uncaught {@code IllegalStateException: Result is already complete} with its
     * stack at ERROR (vertx-sql-client#1706: the timer is not cancelled when the acquisition fails): 322 of
     * them, about 6,000 log lines, for a 25 s outage under load, each looking like a bug of ours. They are
     * echoes of failures already answered, and are no longer logged as errors. Nor is each refused request
     * a warning of its own: one per ten seconds says the database is down, and how often it was met.
     */
    @Test
    @Order(2)
    void aStatementRefusedAConnectionLeavesNoUncaughtErrorBehind() throws Exception {
        proxy.close();
        for (int i = 0; i < 20; i++) {
            Answer a = transfer("refused-" + i);
            assertEquals(503, a.status(), a.toString());
        }
        // Every statement's timer started before its 503: all have fired CONNECTION_WAIT after the last
        // one, give or take the event loop's lag. The first echo, kept out of the error log (or not), shows
        // that they do fire, and well before Vert.x's own 30 s: the configured wait is the pool's.
        long lastRefused = System.nanoTime();
        awaitLog(l -> l.contains(ECHO_DEBUG) || l.contains("Result is already complete"), Duration.ofSeconds(20),
                "no pool timeout echo, kept out of the error log or not (presage.apply.connection-wait is "
                        + CONNECTION_WAIT + ", Vert.x's default 30 s)");
        Thread.sleep(Math.max(0, TimeUnit.NANOSECONDS.toMillis(
                lastRefused + CONNECTION_WAIT.toNanos() + TimeUnit.SECONDS.toNanos(1) - System.nanoTime())));
        String log = Files.readString(coordinator.log());
        assertFalse(log.contains("Result is already complete"), "an echo of an answered failure logged as an error");
        assertFalse(log.contains("Uncaught exception"), "an uncaught exception in the log");
        // One line per refused request made a 25 s outage under load some 300 lines; a few say as much.
        long warnings = log.lines().filter(l -> l.contains("a read needed the database, which is unavailable")).count();
        assertTrue(warnings <= 2, warnings + " warnings for 20 requests refused in one outage");
    }

    private static final String ECHO_DEBUG = "pool timeout echo";

    private static void awaitLog(Predicate<String> found, Duration max, String what) throws Exception {
        long deadline = System.nanoTime() + max.toNanos();
        while (!found.test(Files.readString(coordinator.log()))) {
            assertTrue(System.nanoTime() < deadline, what + " in " + max + "; see " + coordinator.log());
            Thread.sleep(200);
        }
    }

    private static void put(String key, String json) {
        Answer a = JsonHttp.send(JsonHttp.put(coordinator.uri("/v1/kv/" + key), json));
        assertEquals(200, a.status(), a.toString());
    }

    private static Answer transfer(String id) {
        return JsonHttp.send(JsonHttp.post(coordinator.uri("/v1/procedures/transfer?id=" + id),
                "{\"from\":\"reset-from\",\"to\":\"reset-to\",\"amount\":10}"));
    }
}
