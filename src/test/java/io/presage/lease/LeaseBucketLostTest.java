package io.presage.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.nats.client.api.StorageType;
import io.presage.log.JetStreamLog;
import io.presage.log.LogConfig;
import io.presage.testing.NatsPerTest;

/**
 * The lease bucket disappears (memory storage, presage.nats.storage=memory, across a NATS restart; or
 * deleted by hand). The holder cannot renew and gives the lease up; a standby waiting in acquire() makes
 * the bucket again and takes it (it only did so in its constructor: its create() failed forever). A
 * bucket made again numbers its entries from 1, so the old holder's renewal, expecting its own
 * revision, must not land on the new holder's entry.
 */
class LeaseBucketLostTest {
    private static final Duration TTL = Duration.ofSeconds(3);

    @RegisterExtension
    final NatsPerTest nats = new NatsPerTest();

    private CoordinatorLease lease(String node, Runnable onLost) throws Exception {
        JetStreamLog log = JetStreamLog.connect(LogConfig.defaults(nats.server().url())
                .withStorage("memory").withPublishTimeout(Duration.ofSeconds(3)));
        nats.closeAfter(log);
        CoordinatorLease l = new CoordinatorLease(log::connection, "lease_test", "coordinator", node, TTL, 1,
                StorageType.Memory, onLost);
        nats.closeAfter(l);
        return l;
    }

    @Test
    void aStandbyTakesOverAfterTheBucketWasLostWithANatsRestart() throws Exception {
        CountDownLatch lost = new CountDownLatch(1);
        CoordinatorLease holder = lease("a", lost::countDown);
        assertTrue(holder.acquire(() -> false));
        CoordinatorLease standby = lease("b", () -> { });
        AtomicBoolean stop = new AtomicBoolean();
        CompletableFuture<Boolean> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return standby.acquire(stop::get);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });

        nats.server().restart(); // memory storage: the bucket and its entry are gone
        assertTrue(lost.await(30, TimeUnit.SECONDS), "the holder cannot renew and loses the lease");
        holder.close(); // the holder's process exits (CoordinatorEngine.leaseLost: exit code 3)
        try {
            assertTrue(waiting.get(30, TimeUnit.SECONDS), "the standby takes over");
        } catch (TimeoutException e) {
            throw new AssertionError("no coordinator 30 s after the holder gave up: the standby's create() keeps "
                    + "failing on the missing bucket, which nothing re-creates", e);
        } finally {
            stop.set(true);
        }
    }

    @Test
    void aHolderWhoseBucketWasMadeAgainDoesNotRenewOverTheNewHoldersEntry() throws Exception {
        CountDownLatch aLost = new CountDownLatch(1);
        CoordinatorLease a = lease("a", aLost::countDown); // its entry at revision 1, renewed 1 s from now
        assertTrue(a.acquire(() -> false));
        JetStreamLog admin = JetStreamLog.connect(LogConfig.defaults(nats.server().url()).withStorage("memory"));
        nats.closeAfter(admin);
        admin.connection().keyValueManagement().delete("lease_test");
        CountDownLatch bLost = new CountDownLatch(1);
        CoordinatorLease b = lease("b", bLost::countDown); // makes the bucket again
        assertTrue(b.acquire(() -> false)); // its entry, in the new bucket, at revision 1 too

        assertTrue(aLost.await(10, TimeUnit.SECONDS), "the old holder finds the entry is not its own and gives up");
        Thread.sleep(TTL.toMillis()); // three renewals of b's
        assertEquals(1, bLost.getCount(), "the new holder kept its lease");
        assertTrue(b.valid());
        assertEquals(b.holder(), b.currentHolder());
    }
}
