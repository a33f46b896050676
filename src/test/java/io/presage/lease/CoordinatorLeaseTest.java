package io.presage.lease;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.nats.client.Connection;
import io.nats.client.KeyValue;
import io.nats.client.Nats;
import io.nats.client.api.KeyValueConfiguration;
import io.nats.client.api.StorageType;
import io.presage.log.JetStreamLog;
import io.presage.log.LogConfig;
import io.presage.testing.NatsPerTest;

/** The coordinator lease against a real nats-server: one holder at a time, hand-over, and loss. */
class CoordinatorLeaseTest {
    /** Long enough that a stall of a busy CI machine does not make the holder lose the lease by itself. */
    private static final Duration TTL = Duration.ofMillis(3_000);

    @RegisterExtension
    final NatsPerTest nats = new NatsPerTest();

    /** A lease on a log connection of its own, as each coordinator has (JetStreamLog, replaced when lost). */
    private CoordinatorLease lease(String node, Runnable onLost) throws Exception {
        return lease(node, TTL, onLost);
    }

    private CoordinatorLease lease(String node, Duration ttl, Runnable onLost) throws Exception {
        return lease(node, ttl, Duration.ofSeconds(3), onLost);
    }

    private CoordinatorLease lease(String node, Duration ttl, Duration requestTimeout, Runnable onLost) throws Exception {
        JetStreamLog log = JetStreamLog.connect(LogConfig.defaults(nats.server().url()).withPublishTimeout(requestTimeout));
        nats.closeAfter(log);
        CoordinatorLease l = new CoordinatorLease(log::connection, "lease_test", "coordinator", node, ttl, 1,
                StorageType.File, onLost);
        nats.closeAfter(l);
        return l;
    }

    /** Longer than the lease lasts without a renewal: what a holder that stopped renewing would have lost by then. */
    private static long pastTheTtl() {
        return TTL.toMillis() + 1_000;
    }

    private static CompletableFuture<Boolean> acquireInBackground(CoordinatorLease l, AtomicBoolean stop) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return l.acquire(stop::get);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void aSecondCoordinatorWaitsWhileTheFirstRenewsAndTakesOverWhenItReleases() throws Exception {
        CoordinatorLease first = lease("a", () -> { });
        assertTrue(first.acquire(() -> false));
        assertTrue(first.valid());
        assertEquals(first.holder(), first.currentHolder());

        CoordinatorLease second = lease("b", () -> { });
        AtomicBoolean stop = new AtomicBoolean();
        CompletableFuture<Boolean> waiting = acquireInBackground(second, stop);
        Thread.sleep(pastTheTtl()); // the first renews, so it keeps the lease
        assertFalse(waiting.isDone(), "the standby waits while the holder renews");
        assertTrue(first.valid());

        long released = System.nanoTime();
        first.close(); // a clean stop gives the lease up at once
        assertTrue(waiting.get(10, TimeUnit.SECONDS));
        assertTrue(second.valid());
        assertEquals(second.holder(), second.currentHolder());
        assertFalse(first.valid());
        System.out.printf("lease hand-over after release: %d ms%n", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - released));
    }

    @Test
    void aRenewalWhoseReplyWasLostDoesNotLoseTheLease() throws Exception {
        AtomicBoolean lost = new AtomicBoolean();
        CoordinatorLease holder = lease("a", () -> lost.set(true));
        assertTrue(holder.acquire(() -> false));
        // What a renewal that landed but whose reply never came leaves: the entry still names the
        // holder, at a revision the holder did not hear of.
        try (Connection nc = Nats.connect(nats.server().url())) {
            KeyValue kv = nc.keyValue("lease_test");
            kv.update("coordinator", holder.holder().getBytes(StandardCharsets.UTF_8), kv.get("coordinator").getRevision());
        }
        Thread.sleep(pastTheTtl()); // several renewals: the first is refused for its stale revision
        assertFalse(lost.get(), "the holder gave up a lease the entry still names it for");
        assertTrue(holder.valid());
        assertEquals(holder.holder(), holder.currentHolder());
    }

    @Test
    void aRenewalThatTimesOutButLandsIsFollowedAtOnceAndTheLeaseKept() throws Exception {
        // A 7.5 s lease: renewals every 2.5 s, valid 6 s after the last one. The server frozen across the
        // first renewal for longer than the client's request timeout (1.5 s here): the renewal times out
        // (at about 4 s), and lands when the server goes on, its reply lost. The next try must come soon,
        // and renew from the revision it finds; a period later (at about 6.5 s) the lease would be gone.
        Duration ttl = Duration.ofMillis(7_500);
        AtomicBoolean lost = new AtomicBoolean();
        CoordinatorLease holder = lease("a", ttl, Duration.ofMillis(1_500), () -> lost.set(true));
        assertTrue(holder.acquire(() -> false));
        long acquired = System.nanoTime();
        Thread.sleep(2_250); // the first renewal is due at about 2.5 s
        nats.server().pause();
        try {
            Thread.sleep(2_500);
        } finally {
            nats.server().resume();
        }
        Thread.sleep(Math.max(0, 6_750 - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - acquired))); // past the first validity
        assertFalse(lost.get(), "the holder lost a lease whose entry still names it");
        assertTrue(holder.valid());
        assertEquals(holder.holder(), holder.currentHolder());
    }

    @Test
    void aBucketThatExistsWithAnotherTtlIsRunByItsOwn() throws Exception {
        try (Connection nc = Nats.connect(nats.server().url())) {
            nc.keyValueManagement().create(KeyValueConfiguration.builder().name("lease_test").ttl(Duration.ofSeconds(1))
                    .maxHistoryPerKey(1).storageType(StorageType.File).build());
        }
        CoordinatorLease l = lease("a", () -> { }); // configured with 3 s
        assertEquals(Duration.ofSeconds(1), l.ttl(), "the server expires entries by the bucket's ttl");
        assertTrue(l.acquire(() -> false));
        Thread.sleep(3_000); // three bucket ttls: kept by renewing every third of the bucket's
        assertTrue(l.valid());
        assertEquals(l.holder(), l.currentHolder());
    }

    @Test
    void aHolderThatCannotRenewLosesTheLeaseOnceAndTheStandbyGetsItAfterTheTtl() throws Exception {
        CountDownLatch lost = new CountDownLatch(1);
        CoordinatorLease holder = lease("a", lost::countDown);
        assertTrue(holder.acquire(() -> false));
        nats.server().pause(); // nothing answers: no renewal can succeed
        try {
            assertTrue(lost.await(30, TimeUnit.SECONDS), "the holder is told it lost the lease");
            assertFalse(holder.valid(), "and it no longer acts as the holder");
        } finally {
            nats.server().resume();
        }
        CoordinatorLease standby = lease("b", () -> { });
        assertTrue(standby.acquire(() -> false), "the entry expired, so the standby can take it");
        assertEquals(standby.holder(), standby.currentHolder());
        Thread.sleep(pastTheTtl());
        assertFalse(holder.valid(), "a lost lease is not taken back");
        assertTrue(standby.valid(), "the new holder keeps it by renewing");
    }

    @Test
    void aStandbyWaitingThroughANatsRestartStillTakesTheLeaseWhenItIsReleased() throws Exception {
        CoordinatorLease holder = lease("a", () -> { });
        assertTrue(holder.acquire(() -> false));
        CoordinatorLease standby = lease("b", () -> { });
        AtomicBoolean stop = new AtomicBoolean();
        CompletableFuture<Boolean> waiting = acquireInBackground(standby, stop);
        nats.server().restart(); // same store: the bucket and the holder's entry survive; both connections are replaced
        holder.close(); // releases it if the holder still has it; otherwise it has expired, or will
        try {
            assertTrue(waiting.get(60, TimeUnit.SECONDS), "the standby's lease calls go on after the restart");
        } finally {
            stop.set(true);
        }
        assertTrue(standby.valid());
        assertEquals(standby.holder(), standby.currentHolder());
    }

    @Test
    void aStandbyThatIsToldToStopGivesUpWaiting() throws Exception {
        CoordinatorLease holder = lease("a", () -> { });
        assertTrue(holder.acquire(() -> false));
        CoordinatorLease standby = lease("b", () -> { });
        AtomicBoolean stop = new AtomicBoolean();
        CompletableFuture<Boolean> waiting = acquireInBackground(standby, stop);
        stop.set(true);
        assertFalse(waiting.get(10, TimeUnit.SECONDS));
        assertFalse(standby.valid());
        assertTrue(holder.valid());
    }
}
