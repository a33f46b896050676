package io.presage.it;

import static io.presage.it.Http.assertUnavailable;
import static io.presage.it.Http.awaitApplied;
import static io.presage.it.Http.awaitStatus;
import static io.presage.it.Http.put;
import static io.presage.it.Http.sequenceOf;
import static io.presage.it.Http.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import io.nats.client.Connection.Status;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;

/**
 * Recovery replays the log from what the coordinator's database applied. A message missing from that
 * stretch (deleted by hand, or the stream's start cut by a retention limit while the database was
 * behind) held commits that were acknowledged: recovering without them would certify against a past
 * that lacks them. The coordinator must refuse, not skip the hole and turn READY.
 *
 * <p>Its own application: after this test the coordinator stays refusing, by design.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true)
class LogHoleRecoveryTest {

    @Test
    void aHoleInTheLogAheadOfTheDatabaseStopsRecoveryInsteadOfBeingSkipped() throws Exception {
        Http.awaitReady(Duration.ofSeconds(60));
        Response first = put("hole-before", "1");
        assertEquals(200, first.statusCode(), first.asString());
        awaitApplied(sequenceOf(first));
        String stream = ConfigProvider.getConfig().getValue("presage.nats.stream", String.class);

        try (Connection hold = AppDatabase.connect(); io.nats.client.Connection nc = Nats.connect(natsUrl());
                LogWriter intruder = new LogWriter()) {
            assertEquals(Status.CONNECTED, nc.getStatus());
            // The applier cannot write items (reads still can): the database stays behind the log.
            hold.setAutoCommit(false);
            try (Statement s = hold.createStatement()) {
                s.execute("set local lock_timeout = '10s'");
                s.execute("lock table items in exclusive mode");
            }
            Response lost = put("hole-lost", "2");
            assertEquals(200, lost.statusCode(), lost.asString());
            Response kept = put("hole-kept", "3");
            assertEquals(200, kept.statusCode(), kept.asString());
            long hole = sequenceOf(lost);
            assertTrue(status().getLong("appliedSequence") < hole, "the database has not applied " + hole);

            JetStreamManagement jsm = nc.jetStreamManagement();
            assertTrue(jsm.deleteMessage(stream, hole), "message " + hole + " deleted");
            // A foreign append fences the coordinator's next commit, which makes it rebuild from the log.
            intruder.append(intruder.txn(LogWriter.put("hole-foreign", "1")));
            assertUnavailable(put("hole-fenced", "4"));

            awaitStatus(s -> !"READY".equals(s.getString("state")) && s.getString("detail").contains("no longer holds sequence " + hole),
                    "recovery refusing the hole at " + hole);
            assertUnavailable(put("hole-after", "5"));
            hold.rollback();
        }
        // The applier may have taken the missing message before it was deleted, and then stores it once
        // the lock is gone: recovery then starts past the hole and succeeds. If it had not, it stops at
        // the hole too. Either way, the coordinator is never READY again without that commit.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            if ("READY".equals(status().getString("state"))) {
                assertEquals("2", AppDatabase.storedValue("hole-lost"), "READY again only with the hole's commit in the database");
                return;
            }
            Http.sleep(100);
        }
        assertUnavailable(put("hole-later", "6"));
    }

    private static String natsUrl() {
        return ConfigProvider.getConfig().getValue("presage.nats.url", String.class);
    }
}
