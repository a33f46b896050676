package io.presage.api;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.jboss.logging.Logger;

/**
 * A warning that every request may raise while one condition lasts (the database down): logged at most
 * once per interval, with how many were left out since the last one, so that an outage under load is a
 * few lines in the log rather than one per request (about 12 a second in a 25 s PostgreSQL outage).
 */
public final class ThrottledWarning {
    private final Logger log;
    private final long intervalNanos;
    private final AtomicLong nextAt = new AtomicLong(System.nanoTime());
    private final AtomicLong leftOut = new AtomicLong();

    public ThrottledWarning(Logger log, long interval, TimeUnit unit) {
        this.log = log;
        this.intervalNanos = unit.toNanos(interval);
    }

    public void warn(String message) {
        long now = System.nanoTime();
        long next = nextAt.get();
        if (now - next >= 0 && nextAt.compareAndSet(next, now + intervalNanos)) {
            long n = leftOut.getAndSet(0);
            log.warn(n == 0 ? message : message + " (and " + n + " more like it since the last one logged)");
        } else {
            leftOut.incrementAndGet();
        }
    }
}
