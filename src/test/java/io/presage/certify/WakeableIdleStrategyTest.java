package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import org.junit.jupiter.api.Test;

class WakeableIdleStrategyTest {

    /**
     * The consumer may park for a minute at a time, so the only way every item is consumed within
     * the test's bound is that each producer's wake() reaches a parked consumer: a lost wake-up
     * (e.g. reading the flag before publishing the work) leaves an item stranded and the test fails.
     */
    @Test
    void aParkedConsumerIsWokenByEveryProducerNeverStranded() {
        ConcurrentLinkedQueue<Integer> queue = new ConcurrentLinkedQueue<>();
        WakeableIdleStrategy idle = new WakeableIdleStrategy(() -> !queue.isEmpty(), Duration.ofMinutes(1).toNanos());
        AtomicInteger consumed = new AtomicInteger();
        int items = 2_000;
        Thread consumer = new Thread(() -> {
            while (consumed.get() < items) {
                Integer i = queue.poll();
                idle.idle(i == null ? 0 : 1);
                if (i != null) {
                    consumed.incrementAndGet();
                }
            }
        }, "consumer");
        consumer.setDaemon(true);
        consumer.start();
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (int i = 0; i < items; i++) {
                queue.offer(i);
                idle.wake();
                if (i % 50 == 0) {
                    // Let the consumer run out of work and go to sleep before the next item.
                    LockSupport.parkNanos(2_000_000);
                }
            }
            while (consumed.get() < items) {
                Thread.onSpinWait();
            }
        });
        assertEquals(items, consumed.get());
    }

    /**
     * With work held back until a deadline (group commit spacing its log messages), the loop must not
     * sleep past it: a strategy that ignored the deadline would park for the full minute here.
     */
    @Test
    void aLoopWithADeadlineWakesByItWithoutAProducer() {
        WakeableIdleStrategy idle = new WakeableIdleStrategy(() -> false, Duration.ofMinutes(1).toNanos());
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            long deadline = System.nanoTime() + Duration.ofMillis(200).toNanos();
            idle.wakeBy(deadline);
            while (System.nanoTime() - deadline < 0) {
                idle.idle(0); // spins, yields, then parks until the deadline
            }
        });
    }

    /**
     * While the handler holds work back until a deadline, what producers add can only join that work,
     * so the loop should sleep until the deadline in one go: no spinning or yielding, and producers'
     * wake() must not cut the sleep short (each would cost an unpark and a loop round for nothing).
     * The producer here wakes every 5 ms through a 400 ms hold.
     */
    @Test
    void aLoopThatHoldsWorkUntilADeadlineSleepsThroughProducersWakeUps() {
        WakeableIdleStrategy idle = new WakeableIdleStrategy(() -> false, Duration.ofMinutes(1).toNanos());
        AtomicInteger rounds = new AtomicInteger(-1);
        Thread loop = new Thread(() -> {
            long deadline = System.nanoTime() + Duration.ofMillis(400).toNanos();
            idle.wakeBy(deadline);
            int n = 0;
            while (System.nanoTime() - deadline < 0) {
                idle.idle(0);
                n++;
            }
            rounds.set(n);
        }, "loop");
        loop.setDaemon(true);
        loop.start();
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            while (rounds.get() < 0) {
                idle.wake();
                LockSupport.parkNanos(5_000_000);
            }
        });
        // One park, give or take a spurious return or two.
        assertTrue(rounds.get() <= 3, "the loop went round " + rounds.get() + " times in a 400 ms hold");
    }
}
