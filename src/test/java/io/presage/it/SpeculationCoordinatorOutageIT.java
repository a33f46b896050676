package io.presage.it;

import static io.presage.it.JsonHttp.json;
import static io.presage.it.JsonHttp.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Speculations at a mirror across a coordinator that goes away for a while: a packaged coordinator and
 * mirror on real NATS and PostgreSQL. Logs in target/speculation-outage-it/.
 */
class SpeculationCoordinatorOutageIT {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(300);
    private static final Path LOGS = NodeProcess.BASE_DIR.resolve("target/speculation-outage-it");
    private static final long HOLD = 4343;
    private static final long TURN_WAIT_MS = 4_000;
    /** Longer than a re-execution waits for its turn. */
    private static final long OUTAGE_MS = TURN_WAIT_MS * 3 / 2;

    private static CoordinatorAndMirror nodes;

    @BeforeAll
    static void start() throws Exception {
        // A turn is waited for 4 s here (10 s by default), and the forward timeout is as long: a frozen
        // coordinator then leaves a call unanswered for as long as a turn is waited for, which a shorter
        // one hid.
        nodes = CoordinatorAndMirror.start(LOGS, READY_TIMEOUT, Map.of(), db -> Map.of(
                "PRESAGE_MIRROR_SPECULATION_TURN_WAIT", TURN_WAIT_MS + "ms", "PRESAGE_MIRROR_FORWARD_TIMEOUT", TURN_WAIT_MS + "ms"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (nodes != null) {
            nodes.close();
        }
    }

    /**
     * Forty increments of one counter speculated at once: one commits its first attempt, the others lose
     * and queue to re-execute one after another (their turns at this mirror). The coordinator then freezes
     * (SIGSTOP) for longer than a turn is waited for, and comes back. Nothing else writes the counter, so
     * every call can commit once the coordinator is back: none may end ROLLED_BACK, and the counter ends at
     * forty. Before, the queued re-executions took the frozen coordinator for a stuck turn, all went ahead
     * at once when it came back, lost to each other round after round, and many (11 of 40) ended
     * ROLLED_BACK (TOO_MANY_CONFLICTS) after their eight attempts.
     */
    @Test
    void speculationsQueuedToReexecuteWhileTheCoordinatorIsFrozenAllCommitOnceItIsBack() throws Exception {
        queuedAcrossAnOutage("out-stop", () -> {
            nodes.coordinator.signal("STOP");
            return () -> nodes.coordinator.signal("CONT");
        });
    }

    /**
     * The same across a coordinator killed (SIGKILL) and started again: connections refused, then 503 while
     * it recovers.
     */
    @Test
    void speculationsQueuedToReexecuteWhileTheCoordinatorRestartsAllCommitOnceItIsBack() throws Exception {
        queuedAcrossAnOutage("out-kill", () -> {
            nodes.coordinator.kill();
            return () -> {
                nodes.coordinator.start();
                nodes.coordinator.awaitReady(READY_TIMEOUT);
            };
        });
    }

    /** Takes the coordinator away; returns how to bring it back. */
    @FunctionalInterface
    private interface Outage {
        Back begin() throws Exception;
    }

    @FunctionalInterface
    private interface Back {
        void end() throws Exception;
    }

    private static void queuedAcrossAnOutage(String prefix, Outage outage) throws Exception {
        int calls = 40;
        String key = prefix + "-hot";
        String token = json(send(nodes.coordinator, "PUT", "/v1/kv/" + key, "0"), 200).path("token").asText();
        json(send(nodes.mirror, "GET", "/v1/kv/" + key + "?consistency=causal&timeoutMs=20000&after=" + token, null), 200);
        String trigger = prefix.replace('-', '_') + "_hold";
        try (Connection admin = db(); Statement s = admin.createStatement()) {
            // The first re-execution's attempt record waits on the test's lock: the others queue behind it.
            s.execute("create or replace function out_hold() returns trigger language plpgsql as $$ begin "
                    + "perform pg_advisory_xact_lock(" + HOLD + "); return new; end $$");
            s.execute("create trigger " + trigger + " before update on speculations for each row "
                    + "when (new.attempt = 1 and new.id like '" + prefix + "-call-%') execute function out_hold()");
        }
        List<String> ids = new ArrayList<>();
        try (Connection holder = db(); Statement hold = holder.createStatement();
             Connection applier = db(); Statement items = applier.createStatement()) {
            hold.execute("select pg_advisory_lock(" + HOLD + ")");
            // The mirror's applier waits until every call is planned: all of them on the same copy (0), and
            // none on the first one's commit.
            applier.setAutoCommit(false);
            items.execute("lock table items in exclusive mode");
            List<CompletableFuture<JsonNode>> accepted = new ArrayList<>();
            for (int i = 0; i < calls; i++) {
                String id = prefix + "-call-" + i;
                ids.add(id);
                accepted.add(CompletableFuture.supplyAsync(() -> {
                    try {
                        return json(send(nodes.mirror, "POST", "/v1/procedures/increment?speculative=true&id=" + id,
                                "{\"key\":\"" + key + "\"}"), 202);
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
            }
            for (CompletableFuture<JsonNode> a : accepted) {
                assertEquals(1, a.get(30, TimeUnit.SECONDS).path("result").asInt(), "planned on the mirror's copy");
            }
            applier.rollback();
            awaitQueued(ids);

            Back back = outage.begin();
            try {
                hold.execute("select pg_advisory_unlock(" + HOLD + ")");
                Thread.sleep(OUTAGE_MS);
            } finally {
                back.end();
            }
        }
        try (Connection admin = db(); Statement s = admin.createStatement()) {
            s.execute("drop trigger " + trigger + " on speculations");
        }

        List<String> rolledBack = new ArrayList<>();
        for (String id : ids) {
            JsonNode o = outcome(id, Duration.ofSeconds(90));
            if ("ROLLED_BACK".equals(o.path("status").asText())) {
                rolledBack.add(o.toString());
            }
        }
        JsonNode counter = json(send(nodes.coordinator, "GET", "/v1/kv/" + key, null), 200);
        assertTrue(rolledBack.isEmpty(), rolledBack.size() + " of " + calls + " speculations rolled back after a "
                + OUTAGE_MS + " ms coordinator outage, although nothing else wrote the key: " + rolledBack);
        assertEquals(calls, counter.path("value").asInt(), "every call committed once: " + counter);
    }

    /** Waits until one call has committed and every other is queued for its re-execution (or is the one running). */
    private static void awaitQueued(List<String> ids) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String last = "";
        while (System.nanoTime() < deadline) {
            int committed = 0;
            int queued = 0;
            for (String id : ids) {
                JsonNode o = json(send(nodes.mirror, "GET", "/v1/transactions/" + id, null), 200);
                if ("COMMITTED".equals(o.path("status").asText())) {
                    committed++;
                } else if (o.path("attempts").asInt() == 2 || o.path("message").asText().contains("earlier re-executions")) {
                    queued++;
                } else {
                    last = o.toString();
                }
            }
            if (committed == 1 && queued == ids.size() - 1 && blockedOnHold()) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the calls never all queued to re-execute; e.g. " + last);
    }

    private static boolean blockedOnHold() throws Exception {
        try (Connection c = db(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select count(*) from pg_locks where locktype = 'advisory' and not granted "
                     + "and objid = " + HOLD)) {
            rs.next();
            return rs.getLong(1) > 0;
        }
    }

    /** {@code GET /v1/transactions/{id}} at the mirror until it is no longer speculative. */
    private static JsonNode outcome(String id, Duration max) throws Exception {
        long deadline = System.nanoTime() + max.toNanos();
        JsonNode o;
        do {
            o = json(send(nodes.mirror, "GET", "/v1/transactions/" + id, null), 200);
            if (!o.path("status").asText().equals("SPECULATIVE")) {
                return o;
            }
            Thread.sleep(50);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("still speculative after " + max + ": " + o);
    }

    private static Connection db() throws Exception {
        return DriverManager.getConnection(nodes.pg.jdbcUrl(nodes.mirrorDb), nodes.pg.username(), nodes.pg.password());
    }
}
