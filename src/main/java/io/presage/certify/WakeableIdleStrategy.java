package io.presage.certify;

import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

import org.agrona.concurrent.IdleStrategy;

/**
 * Spin, then yield, then park until a producer calls {@link #wake()}: the certifier loop's idle
 * strategy. Agrona's {@code BackoffIdleStrategy} parks for a bounded time and polls again, which
 * keeps a waiting loop wasting ~10 % of a core on a 2-core machine (a wake-up every 100 µs) and
 * still adds up to 100 µs to the first commit after a pause. Here the loop sleeps until there is
 * work and a producer pays one {@code unpark} only when the loop is actually asleep.
 *
 * <p>No lost wake-up: the loop publishes {@code sleeping = true} (a volatile store) and then checks
 * {@code hasWork}; a producer makes its work visible (the queue's CAS on its tail, a full fence)
 * and then reads {@code sleeping}. Either the loop sees the work and does not park, or the
 * producer sees the flag and unparks — the usual Dekker pairing. {@code maxParkNanos} bounds the
 * sleep anyway, so a wake-up lost to a bug would cost latency, never liveness.
 *
 * <p>When the loop's handler holds work back until a deadline ({@link #wakeBy}; group commit waiting
 * out its interval), the loop sleeps straight to the deadline and producers do not wake it: what
 * they queue meanwhile can only join the held work, so spinning, yielding and unparks would buy
 * nothing (measured: 9–16 % less coordinator CPU per commit). Transactions queued meanwhile are
 * certified at the deadline; acks and a message that fills up wait for it too, at most one interval.
 */
final class WakeableIdleStrategy implements IdleStrategy {
    private static final int SPINS = 64;
    private static final int YIELDS = 16;

    private final BooleanSupplier hasWork;
    private final long maxParkNanos;
    private volatile boolean sleeping;
    private volatile Thread owner;
    private int idleRounds;
    /** Loop thread only: when the loop's batch handler wants to run again ({@code Long.MAX_VALUE}: never). */
    private long deadlineNanos = Long.MAX_VALUE;

    WakeableIdleStrategy(BooleanSupplier hasWork, long maxParkNanos) {
        this.hasWork = hasWork;
        this.maxParkNanos = maxParkNanos;
    }

    /**
     * Loop thread only: do not sleep past {@code nanoTime} (a {@link System#nanoTime()} value, or
     * {@code Long.MAX_VALUE} for no deadline). Set after every round of work.
     */
    void wakeBy(long nanoTime) {
        deadlineNanos = nanoTime;
    }

    /** Called by producers after they queued work. Cheap when the loop is awake (one volatile read). */
    void wake() {
        if (sleeping) {
            Thread t = owner;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    @Override
    public void idle(int workCount) {
        if (workCount > 0) {
            idleRounds = 0;
        } else {
            idle();
        }
    }

    @Override
    public void idle() {
        if (deadlineNanos != Long.MAX_VALUE) {
            holdUntilDeadline();
            return;
        }
        int round = idleRounds++;
        if (round < SPINS) {
            Thread.onSpinWait();
        } else if (round < SPINS + YIELDS) {
            Thread.yield();
        } else {
            if (owner == null) {
                owner = Thread.currentThread();
            }
            sleeping = true;
            if (!hasWork.getAsBoolean()) {
                LockSupport.parkNanos(this, maxParkNanos);
            }
            sleeping = false;
        }
    }

    /**
     * The handler holds work back until the deadline (group commit waiting out its interval): what
     * arrives meanwhile can only join that work, so the loop sleeps until then without spinning or
     * yielding, and without {@code sleeping} set, so producers do not pay an unpark to wake it early.
     */
    private void holdUntilDeadline() {
        long sleep = Math.min(maxParkNanos, deadlineNanos - System.nanoTime());
        if (sleep > 0) {
            LockSupport.parkNanos(this, sleep);
        }
    }

    @Override
    public void reset() {
        idleRounds = 0;
    }

    @Override
    public String alias() {
        return "wakeable";
    }
}
