package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.ConsumerInfo;
import io.presage.apply.Applier;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A page of the log with a hole in it (a message deleted between two the follower reads in one pull)
 * is applied up to the hole, and only that much is acknowledged: the message after the hole stays
 * unacknowledged, so it comes back and stops the applier at the hole, instead of being acknowledged
 * unapplied while the applier looks caught up. Its own application: the applier ends stopped.
 */
@QuarkusTest
@QuarkusTestResource(value = MirrorRoleServers.class, restrictToAnnotatedClass = true)
class ApplierHoleTest {
    @Inject
    Applier applier;

    @Test
    void aPageWithAHoleIsAppliedAndAcknowledgedOnlyUpToIt() throws Exception {
        String stream = ConfigProvider.getConfig().getValue("presage.nats.stream", String.class);
        try (LogWriter log = new LogWriter();
                io.nats.client.Connection nc = Nats.connect(ConfigProvider.getConfig().getValue("presage.nats.url", String.class));
                Connection hold = AppDatabase.connect()) {
            long first = log.append(log.txn(LogWriter.put("hole-a", "1")));
            await(first);
            // The applier takes the next message and waits on the lock, so that the three after it are
            // all in the stream, one deleted, when it pulls again: one page of two, with a hole.
            hold.setAutoCommit(false);
            try (Statement s = hold.createStatement()) {
                s.execute("set local lock_timeout = '10s'");
                s.execute("lock table apply_state in access exclusive mode");
            }
            long held = log.append(log.txn(LogWriter.put("hole-a", "2")));
            AppDatabase.awaitSessionWaitingOnALock(); // it has pulled `held` alone; pulled later, its page held them all
            long before = log.append(log.txn(LogWriter.put("hole-a", "3")));
            long missing = log.append(log.txn(LogWriter.put("hole-a", "4")));
            long after = log.append(log.txn(LogWriter.put("hole-a", "5")));
            JetStreamManagement jsm = nc.jetStreamManagement();
            assertTrue(jsm.deleteMessage(stream, missing));
            hold.rollback();

            await(before);
            Thread.sleep(500); // time for anything more it would do with that page
            assertEquals(before, applier.appliedSequence(), "applied up to the hole, not past it");
            ConsumerInfo ci = jsm.getConsumerInfo(stream, "apply-mirror-1");
            // JetStream moves the ack floor over the deleted message itself, never to the one after it.
            assertTrue(ci.getAckFloor().getStreamSequence() < after, "acknowledged up to the hole only: " + ci.getAckFloor());
            assertEquals(1, ci.getNumAckPending(), "message " + after + " delivered, not acknowledged");
            assertEquals(held + 1, before);
        }
    }

    private void await(long sequence) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (applier.appliedSequence() < sequence) {
            assertTrue(System.nanoTime() < deadline, "applied up to " + sequence);
            Thread.sleep(20);
        }
    }
}
