package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import com.fasterxml.jackson.databind.JsonNode;

import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;

/**
 * A coordinator whose database is behind the start of the log (the stream purged, or aged out by a limit on
 * it: here all of it) cannot recover: it could not replay the acknowledged commits the log no longer holds. With
 * the lease on, it must not take the lease either, or it keeps out the coordinator that can serve: before,
 * such a standby took the lease once the holder died, then failed its recovery every second for good, and
 * the old holder, restarted with its database intact, stood by behind it. Here the only coordinator that
 * can serve is killed; the one started afterwards on an empty database either sees the cut before taking
 * the lease, or takes it while it is free, meets the cut in its recovery and gives it up. Either way it
 * stands by saying why, and the first one, restarted, takes over and serves every commit.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class StandbyBehindCutLogIT {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration TTL = Duration.ofSeconds(3);
    private static final String STREAM = "MIRROR_LOG";
    private final Path logDir = NodeProcess.BASE_DIR.resolve("target/standby-cut-log-it");

    @Test
    void aCoordinatorBehindTheLogsStartDoesNotHoldTheLeaseFromOneThatCanServe() throws Exception {
        NatsTestServer nats = NatsTestServer.start();
        NodeProcess intact = null;
        NodeProcess behind = null;
        try {
            PostgresTestServer pg = PostgresTestServer.get();
            Map<String, String> lease = NodeProcess.leaseOn(TTL);
            intact = NodeProcess.coordinator("coord-intact", nats, pg, pg.createDatabase(), logDir, lease);
            intact.start();
            intact.awaitReady(READY_TIMEOUT);
            for (int i = 0; i < 10; i++) {
                assertEquals(200, JsonHttp.send(JsonHttp.put(intact.uri("/v1/kv/sc-" + i), Integer.toString(i))).status());
            }
            long last = intact.awaitApplied(Duration.ofSeconds(30)).path("appliedSequence").asLong();
            // Every message, as a max_age limit does to a log quiet for longer: nothing after the cut shows it
            // (MirrorAfterLogCutIT cuts all but the last). Before, an applier found an empty stream "cannot be
            // read", not a cut, and the standby took the lease and retried its recovery every second for good.
            LogWriter.purgeBefore(nats.url(), STREAM, last + 1);
            intact.kill();
            Thread.sleep(TTL.toMillis() + 1_000); // the lease is free

            behind = NodeProcess.coordinator("coord-behind", nats, pg, pg.createDatabase(), logDir, lease);
            behind.start();
            behind.awaitStatus(s -> "STANDBY".equals(s.path("state").asText())
                    && s.path("detail").asText().contains("no longer holds sequence 1"), "standing by, saying why",
                    READY_TIMEOUT);
            Thread.sleep(2 * TTL.toMillis()); // time to take the lease, if it would
            JsonNode standing = behind.status();
            assertEquals("STANDBY", standing.path("state").asText(), standing.toString());
            assertFalse(standing.path("lease").path("held").asBoolean(true), "holds the lease: " + standing);
            assertTrue(standing.path("detail").asText().contains("A mirror after the log was cut"), standing.toString());

            intact.start();
            intact.awaitReady(READY_TIMEOUT);
            for (int i = 0; i < 10; i++) {
                assertEquals(i, intact.number("sc-" + i), "sc-" + i);
            }
            assertEquals(200, JsonHttp.send(JsonHttp.put(intact.uri("/v1/kv/sc-after"), "1")).status());
            JsonNode still = behind.status();
            assertEquals("STANDBY", still.path("state").asText(), "took the lease back: " + still);
        } finally {
            NodeProcess.stopAll(behind, intact);
            nats.close();
        }
    }
}
