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
 * the whole timeout, and hung lookups would pile up threads.
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
    private volatile Future<Long> stuck;
    private volatile long pausedUntilNanos;
    private volatile boolean paused;

    public BoundedColdVersions(ColdVersions store, long timeoutNanos, long pauseNanos) {
        this.store = store;
        this.timeoutNanos = timeoutNanos;
        this.pauseNanos = pauseNanos;
    }

    @Override
    public long currentVersion(String key) {
        if (unavailable()) {
            refused.increment();
            return UNKNOWN;
        }
        Future<Long> lookup = threads.submit(() -> store.currentVersion(key));
        try {
            long v = lookup.get(timeoutNanos, TimeUnit.NANOSECONDS);
            if (v == UNKNOWN) {
                pause(); // the store failed: an outage, most likely
            }
            return v;
        } catch (TimeoutException e) {
            stuck = lookup;
            pause();
        } catch (ExecutionException e) {
            pause();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return UNKNOWN;
    }

    /** Lookups answered {@link #UNKNOWN} without asking the store (one timed out or failed recently). */
    public long refused() {
        return refused.sum();
    }

    /** Stops the lookup threads (one still hung in the store is interrupted). */
    public void close() {
        threads.shutdownNow();
    }

    private boolean unavailable() {
        Future<Long> s = stuck;
        if (s != null) {
            if (!s.isDone()) {
                return true;
            }
            stuck = null;
        }
        return paused && System.nanoTime() - pausedUntilNanos < 0;
    }

    private void pause() {
        pausedUntilNanos = System.nanoTime() + pauseNanos;
        paused = true;
    }
}
