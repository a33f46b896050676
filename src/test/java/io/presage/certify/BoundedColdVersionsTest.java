package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A cold lookup never holds the certifier past its timeout, and an outage is not asked again and again. */
class BoundedColdVersionsTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger asked = new AtomicInteger();
    private BoundedColdVersions bounded;

    @AfterEach
    void close() {
        release.countDown();
        if (bounded != null) {
            bounded.close();
        }
    }

    /** A store whose lookups hang until released, then answer version 7. */
    private ColdVersions hangingStore() {
        return key -> {
            asked.incrementAndGet();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 7;
        };
    }

    @Test
    void anAnsweringStoreIsAskedEachTime() {
        bounded = new BoundedColdVersions(key -> key.length(), 10_000 * MS, 10_000 * MS);
        assertEquals(3, bounded.currentVersion("abc"));
        assertEquals(5, bounded.currentVersion("abcde"));
        assertEquals(0, bounded.refused());
    }

    @Test
    void aHungLookupIsUnknownAndLaterOnesDoNotWaitForIt() {
        bounded = new BoundedColdVersions(hangingStore(), 50 * MS, 0);
        // The guard only turns a hang (what this fixes) into a failure; it is not a speed goal.
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            assertEquals(ColdVersions.UNKNOWN, bounded.currentVersion("k"), "timed out: unknown, which refuses the read");
            for (int i = 0; i < 100; i++) {
                assertEquals(ColdVersions.UNKNOWN, bounded.currentVersion("k"));
            }
        });
        assertEquals(1, asked.get(), "not asked again while the first lookup still hangs");
        assertEquals(101, bounded.refused(), "the one that timed out, and the hundred not asked");

        release.countDown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        long v;
        do {
            v = bounded.currentVersion("k"); // no pause: asked again once the hung one has ended
        } while (v == ColdVersions.UNKNOWN && System.nanoTime() < deadline);
        assertEquals(7, v);
    }

    @Test
    void afterAFailureTheStoreIsLeftAloneForThePause() {
        AtomicInteger calls = new AtomicInteger();
        bounded = new BoundedColdVersions(key -> {
            if (calls.incrementAndGet() == 1) {
                throw new IllegalStateException("connection refused");
            }
            return 4;
        }, 10_000 * MS, TimeUnit.HOURS.toNanos(1));
        assertEquals(ColdVersions.UNKNOWN, bounded.currentVersion("k"));
        assertEquals(ColdVersions.UNKNOWN, bounded.currentVersion("k"));
        assertEquals(ColdVersions.UNKNOWN, bounded.currentVersion("k"));
        assertEquals(1, calls.get(), "paused: not asked");
        assertEquals(3, bounded.refused());
    }

    @Test
    void aStoreThatAnswersUnknownIsAnOutageToo() {
        AtomicInteger calls = new AtomicInteger();
        bounded = new BoundedColdVersions(key -> {
            calls.incrementAndGet();
            return ColdVersions.UNKNOWN; // what PgItemStore answers on an SQLException
        }, 10_000 * MS, TimeUnit.HOURS.toNanos(1));
        assertEquals(ColdVersions.UNKNOWN, bounded.currentVersion("a"));
        assertEquals(ColdVersions.UNKNOWN, bounded.currentVersion("b"));
        assertEquals(1, calls.get());
    }

    /**
     * A store that answers every lookup just within the timeout: each alone is fine, but a transaction
     * with many cold reads would hold the certifier for the sum. At most the timeout of each second goes
     * to lookups; the rest are refused until the second is over.
     */
    @Test
    void lookupsThatEachFitTheTimeoutStillGetNoMoreThanItPerSecond() {
        AtomicInteger calls = new AtomicInteger();
        bounded = new BoundedColdVersions(key -> {
            calls.incrementAndGet();
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 3;
        }, 200 * MS, 0);
        long start = System.nanoTime();
        int answered = 0;
        for (int i = 0; i < 20; i++) {
            if (bounded.currentVersion("k" + i) == 3) {
                answered++;
            }
        }
        long loopNanos = System.nanoTime() - start;
        // Each lookup takes at least 20 ms against a budget of 200 ms: a lookup is made only while less
        // than the budget has been spent, so at most ten are (the tenth passes it). Fewer on a loaded
        // machine, where a sleep takes longer (at a load average of 15, two 40 ms lookups once took a
        // 100 ms budget), but at least the first. Only if the loop itself took more than a second may
        // the next second's budget let more through.
        if (loopNanos < TimeUnit.SECONDS.toNanos(1)) {
            assertTrue(calls.get() >= 1 && calls.get() <= 10, "lookups made: " + calls.get());
        }
        assertTrue(answered >= 1 && answered < 20, "answered " + answered);
        assertEquals(20 - answered, bounded.refused());
    }
}
