package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import com.fasterxml.jackson.databind.JsonNode;

import io.presage.it.JsonHttp.Answer;
import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;

/**
 * README, "A mirror after the log was cut": once the start of the log stream is gone (purged, or aged
 * out by a {@code max_age} or {@code max_bytes} limit an operator put on the stream), a mirror added
 * with an empty database cannot catch up from the log. It must say so, and not pass for a caught-up
 * mirror of nothing: before, its readiness was UP with a lag of 0 and its reads came from an empty
 * database. Its database replaced by a copy of another mirror's, the same node follows the log from
 * the copy's position: every key as at the coordinator, and commits made after the copy arrive.
 * Packaged application, one process per node, a real nats-server and PostgreSQL.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class MirrorAfterLogCutIT {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final String STREAM = "MIRROR_LOG";
    private static final int KEYS = 20;

    private final Path logDir = NodeProcess.BASE_DIR.resolve("target/log-cut-it");

    @Test
    void aMirrorAddedAfterTheLogWasCutSaysSoAndStartsFromACopyOfAnotherMirrorsDatabase() throws Exception {
        PostgresTestServer pg = PostgresTestServer.get();
        NodeProcess coordinator = null;
        NodeProcess mirror1 = null;
        NodeProcess mirror2 = null;
        try (NatsTestServer nats = NatsTestServer.start()) {
            String db1 = pg.createDatabase();
            String db2 = pg.createDatabase();
            coordinator = NodeProcess.coordinator(nats, pg, pg.createDatabase(), logDir);
            mirror1 = NodeProcess.mirror("mirror1", coordinator, nats, pg, db1, logDir);
            coordinator.start();
            mirror1.start();
            coordinator.awaitReady(READY_TIMEOUT);
            mirror1.awaitReady(READY_TIMEOUT);

            String written = null;
            for (int i = 0; i < KEYS; i++) {
                written = put(coordinator, "cut-" + i, i);
            }
            long last = coordinator.awaitApplied(Duration.ofSeconds(30)).path("appliedSequence").asLong();
            mirror1.awaitAppliedUpTo(last, Duration.ofSeconds(30));
            LogWriter.purgeBefore(nats.url(), STREAM, last); // every message before `last`, as a retention limit would

            // A mirror added now, with an empty database: message 1 is gone.
            mirror2 = NodeProcess.mirror("mirror2", coordinator, nats, pg, db2, logDir);
            mirror2.start();
            JsonNode applier = mirror2.awaitReadinessCheck("applier", c -> c.path("data").path("missingSequence").asLong() == 1,
                    READY_TIMEOUT);
            assertEquals("DOWN", applier.path("status").asText(), "not ready: " + applier);
            assertEquals(last, applier.path("data").path("logResumesAt").asLong(), applier.toString());
            String problem = applier.path("data").path("logProblem").asText();
            assertTrue(problem.contains("no longer holds message 1") && problem.contains("A mirror after the log was cut"),
                    problem);
            Answer ready = JsonHttp.send(JsonHttp.get(mirror2.uri("/q/health/ready")));
            assertEquals(503, ready.status(), ready.toString());
            // The lag is refreshed in the background: the whole log, and not "none" in seconds.
            mirror2.awaitStatus(s -> s.path("lag").path("sequences").asLong() == last
                    && s.path("lag").path("seconds").asDouble() > 0, "lagging by the whole log", Duration.ofSeconds(10));
            assertEquals(0, mirror2.status().path("appliedSequence").asLong());
            Answer local = JsonHttp.send(JsonHttp.get(mirror2.uri("/v1/kv/cut-3")));
            assertEquals(0.0, local.json().path("confidence").asDouble(), "a local read is not taken for current: " + local);
            // Read-your-writes: the write is in no message this mirror will apply, so the coordinator answers
            // (it waited out its timeout, 504, before).
            Answer causal = JsonHttp.send(JsonHttp.get(mirror2.uri("/v1/kv/cut-" + (KEYS - 1)
                    + "?consistency=causal&timeoutMs=5000&after=" + JsonHttp.enc(written))));
            assertEquals(200, causal.status(), "answered, by the coordinator: " + causal);
            assertEquals(KEYS - 1, causal.json().path("value").asLong(), causal.toString());

            // The operator's repair: the stuck mirror's database replaced by a copy of mirror1's, made while
            // mirror1 is stopped (CREATE DATABASE ... TEMPLATE copies a database no one is connected to).
            mirror2.stop();
            mirror1.stop();
            try (Connection c = DriverManager.getConnection(pg.jdbcUrl("postgres"), pg.username(), pg.password());
                    Statement s = c.createStatement()) {
                s.execute("drop database " + db2);
                s.execute("create database " + db2 + " template " + db1);
            }
            mirror1.start();
            mirror2.start();
            mirror1.awaitReady(READY_TIMEOUT);
            mirror2.awaitReady(READY_TIMEOUT);

            String token = put(coordinator, "cut-after", 99);
            for (NodeProcess m : new NodeProcess[] {mirror1, mirror2}) {
                Answer read = JsonHttp.send(JsonHttp.get(
                        m.uri("/v1/kv/cut-after?consistency=causal&timeoutMs=20000&after=" + JsonHttp.enc(token))));
                assertEquals(200, read.status(), m.name + ": " + read);
                assertEquals(99, read.json().path("value").asLong(), read.toString());
                for (int i = 0; i < KEYS; i++) {
                    assertEquals(i, m.number("cut-" + i), "cut-" + i + " at " + m.name);
                }
            }
            long end = coordinator.awaitApplied(Duration.ofSeconds(30)).path("appliedSequence").asLong();
            mirror2.awaitAppliedUpTo(end, Duration.ofSeconds(30));
            assertEquals(end, mirror2.status().path("appliedSequence").asLong(), "no further than the log");
        } finally {
            NodeProcess.stopAll(mirror2, mirror1, coordinator);
        }
    }

    /** {@code PUT /v1/kv/{key}} at {@code node}; returns the commit's token. */
    private static String put(NodeProcess node, String key, long value) {
        Answer a = JsonHttp.send(JsonHttp.put(node.uri("/v1/kv/" + key), Long.toString(value)));
        assertEquals(200, a.status(), key + ": " + a);
        return a.json().path("token").asText();
    }
}
