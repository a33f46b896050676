package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import com.fasterxml.jackson.databind.JsonNode;

import io.presage.it.JsonHttp.Answer;
import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;

/**
 * A rolling upgrade of a coordinator group: the holder {@code a} runs the build that reads a newer batch
 * format (the test seam of {@link ParkedBeforeUpgradeIT}), the standby {@code b} the build before, and
 * parks the newer-format message it follows the log with. A standby with a parked message cannot serve
 * once it takes over (it cannot know what the message wrote), so it must not take the lease and hold it,
 * serving nothing, while a coordinator that reads the message waits as a standby behind it: {@code b}
 * stands by, saying which message and what to do, and {@code a}, restarted, takes over again. Then
 * {@code b} is upgraded: on start it applies its parked message, and takes over from {@code a} with it.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class StandbyParkedMessageIT {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration TTL = Duration.ofSeconds(3);
    private final Path logDir = NodeProcess.BASE_DIR.resolve("target/standby-parked-it");

    @Test
    void aStandbyWithAParkedMessageDoesNotHoldTheLeaseItCannotServeAndTakesOverOnceUpgraded() throws Exception {
        NatsTestServer nats = NatsTestServer.start();
        NodeProcess a = null;
        NodeProcess b = null;
        NodeProcess bUpgraded = null;
        try (LogWriter writer = new LogWriter(nats.url(), "MIRROR_LOG")) {
            PostgresTestServer pg = PostgresTestServer.get();
            Map<String, String> lease = NodeProcess.leaseOn(TTL);
            Map<String, String> upgraded = ParkedBeforeUpgradeIT.upgraded(lease);
            String dbB = pg.createDatabase();
            a = NodeProcess.coordinator("coord-a", nats, pg, pg.createDatabase(), logDir, upgraded);
            b = NodeProcess.coordinator("coord-b", nats, pg, dbB, logDir, lease);
            a.start();
            a.awaitReady(READY_TIMEOUT);
            b.start();
            b.awaitStatus(s -> "STANDBY".equals(s.path("state").asText()), "standing by", READY_TIMEOUT);

            long parked = writer.appendRaw(LogWriter.newerFormat(writer.txn(LogWriter.put("sp-k", "2"))));
            committedAt(a, "sp-after", "1"); // fenced by that message once, then committed after it
            b.awaitStatus(s -> s.path("deadLetters").asLong() == 1, "message " + parked + " parked at the old build", READY_TIMEOUT);

            a.kill();
            Thread.sleep(TTL.toMillis() * 3); // long past the lease's expiry
            JsonNode atB = b.status();
            assertEquals("STANDBY", atB.path("state").asText(), "took the lease it cannot serve with: " + atB);
            String detail = atB.path("detail").asText();
            assertTrue(detail.contains("from sequence " + parked) && detail.contains("Upgrade this node")
                    && detail.contains("delete their rows"), "says which message and what to do: " + detail);

            a.start(); // a coordinator that reads the message takes over instead of waiting behind b for good
            a.awaitReady(READY_TIMEOUT);
            assertEquals(2, a.number("sp-k"));

            b.stop();
            bUpgraded = NodeProcess.coordinator("coord-b", nats, pg, dbB, logDir, upgraded);
            bUpgraded.start();
            bUpgraded.awaitStatus(s -> "STANDBY".equals(s.path("state").asText()) && s.path("deadLetters").asLong() == 0,
                    "standing by with the parked message applied", READY_TIMEOUT);
            a.stop(); // a clean stop hands the lease over at once
            bUpgraded.awaitReady(READY_TIMEOUT);
            assertEquals(2, bUpgraded.number("sp-k"), "the message it had parked, applied");
            assertEquals(200, JsonHttp.send(JsonHttp.put(bUpgraded.uri("/v1/kv/sp-k"), "3")).status());
        } finally {
            NodeProcess.stopAll(a, b, bUpgraded);
            nats.close();
        }
    }

    /** PUT until committed (a 503 while the coordinator rebuilds after being fenced), for up to 30 s. */
    private static void committedAt(NodeProcess n, String key, String value) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Answer last;
        do {
            last = JsonHttp.send(JsonHttp.put(n.uri("/v1/kv/" + key), value));
            if (last.status() == 200) {
                return;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        throw new AssertionError(key + " not committed in 30 s; last: " + last);
    }
}
