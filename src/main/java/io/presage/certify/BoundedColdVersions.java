package io.presage.certify;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;

/**
 * Cold lookups as a certifier may make them: never holding it longer than {@code timeout}.
 *
 * <p>Why: a partition's certifier is a single writer, and a cold lookup runs on its thread. A lookup
 * hung in the database (a frozen server, a lock, a connection waiting on TCP) would stall every commit
 * of the partition, hot keys included. {@link #UNKNOWN} is always a safe answer: the read is refused as
 * {@code HISTORY_TOO_SHORT} and the client retries, while everything else keeps committing.
 *
 * <p>So the store's lookup runs on a thread of its own, and the certifier waits for it at most
 * {@code timeout}. After one times out or fails, no lookup is tried for {@code pause}, nor while the one
 * that timed out is still running: otherwise each cold read of an outage would stall the certifier for
 * the whole timeout, and hung lookups would pile up threads. And a database that answers each lookup
 * just within the timeout must not stall commits either: the certifier spends at most {@code timeout}
 * of every second on lookups; past that budget, they are refused until the second is over.
 */
public final class BoundedColdVersions implements ColdVersions {
    private final ColdVersions store;
    private final long timeoutNanos;
    private final long pauseNanos;
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "presage-cold-lookup");
        t.setDaemon(true);
        return t;
    });
    private final LongAdder refused = new LongAdder();
    // Guarded by this object's lock (currentVersion); in this process every partition asks from the
    // certifier thread, so the lock is never contended.
    private Future<Long> stuck;
    private long pausedUntilNanos;
    private boolean paused;
    /** The budget: time spent on lookups since {@code budgetStartNanos}, reset each second. */
    private long budgetStartNanos;
    private long spentNanos;

    public BoundedColdVersions(ColdVersions store, long timeoutNanos, long pauseNanos) {
        this.store = store;
        this.timeoutNanos = timeoutNanos;
        this.pauseNanos = pauseNanos;
    }

    @Override
    public synchronized long currentVersion(String key) {
        long start = System.nanoTime();
        if (start - budgetStartNanos >= TimeUnit.SECONDS.toNanos(1)) {
            budgetStartNanos = start;
            spentNanos = 0;
        }
        if (unavailable(start) || spentNanos >= timeoutNanos) {
            refused.increment();
            return UNKNOWN;
        }
        long v = UNKNOWN;
        Future<Long> lookup = threads.submit(() -> store.currentVersion(key));
        try {
            v = lookup.get(timeoutNanos, TimeUnit.NANOSECONDS);
            if (v == UNKNOWN) {
                pause(); // the store failed: an outage, most likely
            }
        } catch (TimeoutException e) {
            stuck = lookup;
            pause();
        } catch (ExecutionException e) {
            pause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        spentNanos += System.nanoTime() - start;
        if (v == UNKNOWN) {
            refused.increment();
        }
        return v;
    }

    /**
     * Lookups answered {@link #UNKNOWN} because of the store: it timed out, failed, or failed or timed
     * out recently, or lookups used up this second's budget (their reads are refused as HISTORY_TOO_SHORT).
     */
    public long refused() {
        return refused.sum();
    }

    /** Stops the lookup threads (one still hung in the store is interrupted). */
    public void close() {
        threads.shutdownNow();
    }

    private boolean unavailable(long nowNanos) {
        Future<Long> s = stuck;
        if (s != null) {
            if (!s.isDone()) {
                return true;
            }
            stuck = null;
        }
        return paused && nowNanos - pausedUntilNanos < 0;
    }

    private void pause() {
        pausedUntilNanos = System.nanoTime() + pauseNanos;
        paused = true;
    }
}
