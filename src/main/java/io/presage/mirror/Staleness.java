package io.presage.mirror;

/**
 * How old the mirror's knowledge of the log is: the S of the confidence model.
 *
 * <ul>
 * <li>Busy (the follower took a page of messages and is applying it, or there is more to pull): S =
 *     now − commit time of the last message received, however far it has been applied. Messages
 *     received and not applied yet are known: the keys they write are pending and answered with 0
 *     before S is asked for. Whatever was committed after them is unknown until the next pull.</li>
 * <li>Drained (the follower's last pull found nothing more, and no page has arrived since) and the
 *     log reachable: the follower is parked in a pull that JetStream answers the moment a message
 *     arrives, so the mirror knows the log up to now, minus the propagation delay (estimated from
 *     commit → applied of recent chunks that arrived while it was parked).</li>
 * <li>Drained but the log unreachable: S grows from the moment it was last drained.</li>
 * <li>Started, nothing applied nor drained yet, and the log unreachable: S grows from the start.</li>
 * </ul>
 * A page that arrives ends the drained state at once, not when it has been applied: while it is
 * applied (milliseconds to tens of them under load) commits go on. Counting that time as drained
 * made reads with a small S 7–14 points optimistic in the demo; ending it on arrival halved the
 * calibration error (BENCHMARKS.md, five runs against five).
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
    /** The page being applied arrived while the follower was parked: its delay is propagation. */
    private volatile boolean arrivedDrained;
    private volatile long drainedAtMillis;
    private volatile long lastCommitMillis;
    /** Commit time of the last message received (decoded, its keys pending), applied or not. */
    private volatile long lastReceivedMillis;
    private volatile double propagationMillis = 5;
    /** When this node started knowing nothing of the log (nothing applied nor drained since). */
    private final long startedMillis;

    public Staleness() {
        this(System.currentTimeMillis());
    }

    Staleness(long startedMillis) {
        this.startedMillis = startedMillis;
    }

    /**
     * A message committed at {@code commitMillis} was received and its writes registered as pending
     * (call this after registering them; a reader asks for S before it checks pending keys: see
     * {@link LogKnowledge}). The follower is no longer parked.
     */
    public void received(long commitMillis) {
        if (commitMillis > lastReceivedMillis) {
            lastReceivedMillis = commitMillis;
        }
        if (drained) {
            arrivedDrained = true;
            drained = false;
        }
    }

    /**
     * The applier restarts: messages received and not applied will be delivered again and their
     * pending entries are gone, so the mirror knows only what it applied.
     */
    public void restarted() {
        lastReceivedMillis = 0;
        drained = false;
        arrivedDrained = false;
    }

    /**
     * A chunk became visible at {@code nowMillis}; its oldest message was committed at
     * {@code firstCommitMillis}, its newest at {@code lastCommitMillis}.
     */
    public void applied(long firstCommitMillis, long lastCommitMillis, long nowMillis) {
        if (arrivedDrained || drained) { // drained: applied without a received() first
            // It arrived while the follower was waiting for it: its delay is propagation (publish →
            // delivery → database commit). Out of a backlog, the delay is mostly queueing, which the
            // backlog branch of seconds() accounts for already. The delay that counts is the oldest
            // message's: a reader could not see that commit for that long (the newest message's
            // delay is the shortest in the chunk).
            long delay = Math.max(0, nowMillis - Math.min(firstCommitMillis, lastCommitMillis));
            propagationMillis += ALPHA * (delay - propagationMillis);
        }
        this.lastCommitMillis = Math.max(this.lastCommitMillis, lastCommitMillis);
        drained = false;
        arrivedDrained = false;
    }

    /** The follower found nothing more to apply at {@code nowMillis}. */
    public void drained(long nowMillis) {
        drainedAtMillis = nowMillis;
        drained = true;
        arrivedDrained = false;
    }

    /** S in seconds at {@code nowMillis}; {@code logReachable} is whether the follower's connection is up. */
    public double seconds(long nowMillis, boolean logReachable) {
        double p = propagationMillis;
        double ms;
        if (drained) {
            ms = logReachable ? p : Math.max(0, nowMillis - drainedAtMillis) + p;
        } else if (knownUpToMillis() > 0) {
            ms = Math.max(p, nowMillis - knownUpToMillis());
        } else {
            // Nothing applied nor drained since the start: with the log reachable the follower is
            // catching up (the lag refresh measures how far behind); without it, the mirror has been
            // blind since it started, and was S = propagation, however long the outage.
            ms = logReachable ? p : Math.max(0, nowMillis - startedMillis) + p;
        }
        return ms / 1000.0;
    }

    /** Commit time up to which the mirror knows the log: its last received or applied message's. */
    private long knownUpToMillis() {
        return Math.max(lastCommitMillis, lastReceivedMillis);
    }

    /** Commit time of the last applied message (0 before the first). */
    public long lastCommitMillis() {
        return lastCommitMillis;
    }

    public double propagationMillis() {
        return propagationMillis;
    }
}
