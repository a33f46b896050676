package io.presage.mirror;

import java.util.List;

import io.presage.apply.ApplyHook.AppliedWrite;

/**
 * The two things a local read's confidence rests on, written and read in the orders that keep them
 * consistent with each other: the keys with a received, unapplied update ({@link PendingKeys}) and
 * how old the mirror's knowledge of the log is, S ({@link Staleness}).
 *
 * <p>When a message arrives, the applier registers its keys as pending, <em>then</em> moves S up to
 * its commit. A reader takes S first, <em>then</em> looks at the key's pending entry. So whenever the
 * S it took counts a message as known, the look after it finds that message's entry (or the entry is
 * gone because the message was applied, and the data read after the look includes it). Read the other
 * way round, a message arriving between the two reads would be missed as pending yet counted in S:
 * a copy known to be stale answered with the confidence of a fresh one.
 *
 * <p>Written by the applier thread; {@link #look} from any thread.
 */
public final class LogKnowledge {
    private final PendingKeys pending;
    private final Staleness staleness;

    public LogKnowledge(PendingKeys pending, Staleness staleness) {
        this.pending = pending;
        this.staleness = staleness;
    }

    /** Applier thread: a message committed at {@code commitMillis} was decoded; its writes wait to be applied. */
    public void received(long sequence, long commitMillis, List<AppliedWrite> writes) {
        for (AppliedWrite w : writes) {
            pending.received(w.key(), sequence);
        }
        staleness.received(commitMillis);
    }

    /**
     * Applier thread: the applier starts again with the store at {@code appliedSequence}. What it had
     * received and not applied is no longer counted in S (it is delivered again), but the keys it wrote
     * stay pending until then.
     */
    public void restarted(long appliedSequence) {
        pending.forgetUpTo(appliedSequence);
        staleness.restarted();
    }

    /**
     * What a read of {@code key} knows before it reads its data: S at {@code nowMillis} (the larger of the
     * follower's and {@code lagSeconds}, which only ever adds to it), then the key's pending sequence.
     */
    public Look look(String key, long nowMillis, boolean logReachable, double lagSeconds) {
        double s = Math.max(staleness.seconds(nowMillis, logReachable), lagSeconds);
        return new Look(s, nowMillis, pending.highest(key));
    }

    /** The same for the keys of a batch: S once, then each key's pending sequence. */
    public Look[] look(List<String> keys, long nowMillis, boolean logReachable, double lagSeconds) {
        double s = Math.max(staleness.seconds(nowMillis, logReachable), lagSeconds);
        Look[] out = new Look[keys.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = new Look(s, nowMillis, pending.highest(keys.get(i)));
        }
        return out;
    }

    /**
     * S as taken at {@code atMillis}, and the key's highest received-but-unapplied sequence then (0:
     * none). The read's data comes from after the look.
     */
    public record Look(double staleSeconds, long atMillis, long pendingSequence) {
        /** S at {@code nowMillis}: the knowledge the look took, older by the time since. */
        public double staleSecondsAt(long nowMillis) {
            return staleSeconds + Math.max(0, nowMillis - atMillis) / 1000.0;
        }
    }
}
