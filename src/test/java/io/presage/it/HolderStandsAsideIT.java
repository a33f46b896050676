package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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
 * The lease holder's side of a rolling upgrade gone the wrong way round: coordinator {@code old} holds
 * the lease and serves when a message in a batch format it cannot read lands in the log (written here
 * by the test, as a coordinator upgraded before it would). Its next commit is fenced by that message,
 * and the recovery that follows meets it. Holding on to the lease would keep every coordinator out
 * while this one serves nothing; it gives the lease up instead and stands by, saying why, and an
 * upgraded coordinator, started afterwards, takes over within the lease's time and serves the
 * message's write. {@link StandbyParkedMessageIT} is the same upgrade seen from a standby.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class HolderStandsAsideIT {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration TTL = Duration.ofSeconds(3);
    private final Path logDir = NodeProcess.BASE_DIR.resolve("target/holder-stands-aside-it");

    @Test
    void aHolderWhoseRecoveryMeetsAMessageItCannotReadGivesTheLeaseUpToOneThatCan() throws Exception {
        NatsTestServer nats = NatsTestServer.start();
        NodeProcess old = null;
        NodeProcess upgraded = null;
        try (LogWriter writer = new LogWriter(nats.url(), "MIRROR_LOG")) {
            PostgresTestServer pg = PostgresTestServer.get();
            Map<String, String> lease = NodeProcess.leaseOn(TTL);
            Map<String, String> newer = ParkedBeforeUpgradeIT.upgraded(lease);
            String oldDbName = pg.createDatabase();
            old = NodeProcess.coordinator("coord-old", nats, pg, oldDbName, logDir, lease);
            old.start();
            old.awaitReady(READY_TIMEOUT);
            assertEquals(200, JsonHttp.send(JsonHttp.put(old.uri("/v1/kv/sa-k"), "1")).status());

            long unreadable = writer.appendRaw(LogWriter.newerFormat(writer.txn(LogWriter.put("sa-k", "2"))));
            // Fenced by that message: 503 while it rebuilds, and from then on, since it cannot.
            Answer fenced = JsonHttp.send(JsonHttp.put(old.uri("/v1/kv/sa-other"), "1"));
            assertNotEquals(200, fenced.status(), "committed past a message it cannot read: " + fenced);
            // Standing by, it first waits for its applier to pass the message, then says what is wrong.
            old.awaitStatus(s -> "STANDBY".equals(s.path("state").asText())
                    && s.path("detail").asText().contains("from sequence " + unreadable)
                    && s.path("detail").asText().contains("Upgrade this node"), "standing aside, saying why", READY_TIMEOUT);
            JsonNode aside = old.status();
            assertFalse(aside.path("lease").path("held").asBoolean(true), "still holds the lease: " + aside);

            // Started only now, while old is alive and standing by: it can take over only if old let go.
            upgraded = NodeProcess.coordinator("coord-new", nats, pg, pg.createDatabase(), logDir, newer);
            upgraded.start();
            upgraded.awaitReady(READY_TIMEOUT);
            assertEquals(2, upgraded.number("sa-k"), "the write of the message the old build could not read");
            assertEquals(200, JsonHttp.send(JsonHttp.put(upgraded.uri("/v1/kv/sa-k"), "3")).status());

            JsonNode still = old.status();
            assertTrue(old.alive(), "the old build stands by, it does not exit");
            assertEquals("STANDBY", still.path("state").asText(), "took the lease back it cannot serve with: " + still);

            // The operator deals with the message at old (deletes its row) and the upgraded one goes away: old
            // takes the lease back. It stood by while another coordinator committed, so it must not answer
            // reads before it has replayed the log again; it did, from its cache, while it recovered. Its
            // recovery is held at its database's position (locked) to look at it meanwhile.
            try (java.sql.Connection oldDb = pg.connect(oldDbName); java.sql.Statement st = oldDb.createStatement()) {
                st.execute("delete from dead_letters");
                old.awaitStatus(s -> s.path("deadLetters").asLong() == 0, "the row's deletion seen", READY_TIMEOUT);
                oldDb.setAutoCommit(false);
                st.execute("lock table apply_state in access exclusive mode");
                upgraded.stop();
                old.awaitStatus(s -> "RECOVERING".equals(s.path("state").asText()) && s.path("lease").path("held").asBoolean(),
                        "taking the lease back", READY_TIMEOUT);
                Answer early = JsonHttp.send(JsonHttp.get(old.uri("/v1/kv/sa-k")));
                assertEquals(503, early.status(), "a read answered before the recovery that follows a stand-aside: " + early);
                oldDb.rollback();
            }
            old.awaitReady(READY_TIMEOUT);
            assertEquals(3, old.number("sa-k"), "the upgraded one's commit, once recovered");
        } finally {
            NodeProcess.stopAll(upgraded, old);
            nats.close();
        }
    }
}
