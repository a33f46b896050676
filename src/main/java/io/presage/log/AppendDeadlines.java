package io.presage.log;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;

/**
 * Fails appends that get no ack within the publish timeout, with one periodic sweep instead of a
 * timer per append.
 *
 * <p><b>Why not a timer each.</b> Scheduling and cancelling one {@code ScheduledThreadPoolExecutor}
 * task per append cost about 2.7 % of the coordinator's CPU under the commit benchmark: acks come
 * back within a millisecond, so the timer queue was nearly always empty, every new task was its head,
 * and every append woke the timer thread to re-arm its wait.
 *
 * <p><b>Why one sweep is enough.</b> Every append gets the same timeout, so deadlines grow in the
 * order appends are tracked. A sweep walks from the head: it drops appends already answered and fails
 * overdue ones, and stops at the first one still within its deadline, because everything behind it is
 * due later. An append is therefore failed between its deadline and one sweep period after it. (With
 * appends tracked from several threads at once, neighbours may be out of order by the time it takes to
 * enqueue; such an append waits for the next sweep, still at most two periods late.)
 *
 * <p>Answered appends stay queued until a sweep reaches them, so the queue holds at most the appends
 * of one timeout plus one period. Any thread may {@link #track}; {@link #expire} is called by one
 * sweeper thread at a time.
 */
final class AppendDeadlines {

    /** Sweeps are this fraction of the timeout apart, so an append fails at most 10 % late. */
    private static final int SWEEPS_PER_TIMEOUT = 10;
    private static final long MIN_PERIOD_NANOS = Duration.ofMillis(1).toNanos();
    private static final long MAX_PERIOD_NANOS = Duration.ofMillis(100).toNanos();

    private record Tracked(CompletableFuture<?> result, long deadlineNanos) {
    }

    private final ConcurrentLinkedQueue<Tracked> inFlight = new ConcurrentLinkedQueue<>();
    private final long timeoutNanos;

    AppendDeadlines(Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive: " + timeout);
        }
        this.timeoutNanos = timeout.toNanos();
    }

    /** How far apart sweeps should run: a tenth of the timeout, within 1 ms … 100 ms. */
    long sweepPeriodNanos() {
        return Math.min(MAX_PERIOD_NANOS, Math.max(MIN_PERIOD_NANOS, timeoutNanos / SWEEPS_PER_TIMEOUT));
    }

    /** Starts the clock on an append sent at {@code nowNanos} ({@link System#nanoTime()}). */
    void track(CompletableFuture<?> result, long nowNanos) {
        inFlight.offer(new Tracked(result, nowNanos + timeoutNanos));
    }

    /**
     * Fails with {@code timedOut}'s exception every tracked append whose deadline has passed by
     * {@code nowNanos} and that is still unanswered; forgets answered ones.
     *
     * @return how many appends it failed
     */
    int expire(long nowNanos, Supplier<? extends Throwable> timedOut) {
        int failed = 0;
        for (Tracked t = inFlight.peek(); t != null; t = inFlight.peek()) {
            boolean overdue = nowNanos - t.deadlineNanos >= 0;
            if (!overdue && !t.result.isDone()) {
                break; // the oldest unanswered append is within its deadline, so is everything behind it
            }
            inFlight.poll();
            if (overdue && !t.result.isDone() && t.result.completeExceptionally(timedOut.get())) {
                failed++;
            }
        }
        return failed;
    }

    /** Appends tracked and not yet forgotten by a sweep (answered or not). */
    int size() {
        return inFlight.size();
    }
}
