package io.presage.mirror;

/**
 * How old the mirror's knowledge of the log is: the S of the confidence model.
 *
 * <ul>
 * <li>Backlog (the last pull returned messages): S = now − commit time of the last applied message.</li>
 * <li>Drained (the follower's last pull found nothing more) and the log reachable: the follower is
 *     parked in a pull that JetStream answers the moment a message arrives, so the mirror knows the log
 *     up to now, minus the propagation delay (estimated from commit → applied of recent chunks).</li>
 * <li>Drained but the log unreachable: S grows from the moment it was last drained.</li>
 * </ul>
 * The coordinator being down while NATS is up does not make S grow: the coordinator cannot commit
 * without appending to this log, so nothing the mirror has not seen can exist, and its answers stay as
 * current as they were (confidence stays high). The log itself being unreachable is what makes the
 * mirror blind, since commits may be happening elsewhere.
 *
 * <p>Updated by the applier thread; read by any thread.
 */
public final class Staleness {
    /** Weight of a new observation in the propagation estimate. */
    private static final double ALPHA = 0.1;

    private volatile boolean drained;
    private volatile long drainedAtMillis;
    private volatile long lastCommitMillis;
    private volatile double propagationMillis = 5;

    /**
     * A chunk became visible at {@code nowMillis}; its oldest message was committed at
     * {@code firstCommitMillis}, its newest at {@code lastCommitMillis}.
     */
    public void applied(long firstCommitMillis, long lastCommitMillis, long nowMillis) {
        if (drained) {
            // It arrived while the follower was waiting for it: its delay is propagation (publish →
            // delivery → database commit). Out of a backlog, the delay is mostly queueing, which the
            // backlog branch of seconds() accounts for already. The delay that counts is the oldest
            // message's: a reader could not see that commit for that long. (The newest message's
            // delay, used before, is the shortest in the chunk: under load the demo's mirrors then
            // rated reads ≥ 0.9 that were current only two times in three.)
            long delay = Math.max(0, nowMillis - Math.min(firstCommitMillis, lastCommitMillis));
            propagationMillis += ALPHA * (delay - propagationMillis);
        }
        this.lastCommitMillis = Math.max(this.lastCommitMillis, lastCommitMillis);
        drained = false;
    }

    /** The follower found nothing more to apply at {@code nowMillis}. */
    public void drained(long nowMillis) {
        drainedAtMillis = nowMillis;
        drained = true;
    }

    /** S in seconds at {@code nowMillis}; {@code logReachable} is whether the follower's connection is up. */
    public double seconds(long nowMillis, boolean logReachable) {
        double p = propagationMillis;
        double ms;
        if (drained) {
            ms = logReachable ? p : Math.max(0, nowMillis - drainedAtMillis) + p;
        } else if (lastCommitMillis > 0) {
            ms = Math.max(p, nowMillis - lastCommitMillis);
        } else {
            ms = p; // nothing applied nor drained yet: starting
        }
        return ms / 1000.0;
    }

    /** Commit time of the last applied message (0 before the first). */
    public long lastCommitMillis() {
        return lastCommitMillis;
    }

    public double propagationMillis() {
        return propagationMillis;
    }
}
