package io.presage.predict;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import io.presage.apply.Eviction;

/**
 * How good the predictions are, judged by what each session reads next: after a read, the keys
 * predicted to follow it are remembered for that session; its next read decides them: a hit if it is
 * one of them. Precision is hits per predicted key decided; recall is hits per session read that
 * followed another (the reads a next-key prediction could have been about). A key read by some other
 * client meanwhile does not count: under load every key of a small data set is read by someone within
 * seconds, and a score by "read by anyone soon" credited random guesses.
 */
public final class PredictionScore {
    private record Predicted(List<String> keys, long atMillis) {
    }

    private final ConcurrentHashMap<String, Predicted> open = new ConcurrentHashMap<>();
    private final long horizonMillis;
    private final int maxSessions;
    private final LongAdder predicted = new LongAdder();
    private final LongAdder decided = new LongAdder();
    private final LongAdder hits = new LongAdder();
    private final LongAdder followingReads = new LongAdder();

    /** @param horizonMillis a prediction not decided by a read of its session within this is dropped undecided */
    public PredictionScore(long horizonMillis, int maxSessions) {
        this.horizonMillis = horizonMillis;
        this.maxSessions = maxSessions;
    }

    /** {@code session} is about to read {@code key}: decides what was predicted for it. {@code follows}: it read something just before. */
    public void read(String session, String key, boolean follows, long nowMillis) {
        Predicted p = open.remove(session);
        if (!follows) {
            // Not a next read as recall counts them (the session's trail lost it, its gap ran out, or it
            // read the same key again): the prediction is dropped undecided. Decided, a hit here counted
            // in recall's numerator and not its denominator, and recall could pass 1.
            return;
        }
        followingReads.increment();
        if (p == null || nowMillis - p.atMillis() > horizonMillis) {
            return;
        }
        decided.add(p.keys().size());
        if (p.keys().contains(key)) {
            hits.increment();
        }
    }

    /** After a read in {@code session}, these keys were predicted to be its next one (the list is kept as given). */
    public void predicted(String session, List<String> keys, long nowMillis) {
        if (!open.containsKey(session) && open.size() >= maxSessions) {
            Eviction.staleFirst(open, maxSessions, p -> nowMillis - p.atMillis() > horizonMillis); // undecidable now
        }
        open.put(session, new Predicted(keys, nowMillis));
        predicted.add(keys.size());
    }

    public long predicted() {
        return predicted.sum();
    }

    public long hits() {
        return hits.sum();
    }

    public long decided() {
        return decided.sum();
    }

    /** Session reads that followed another read of their session. */
    public long followingReads() {
        return followingReads.sum();
    }

    /** Hits per predicted key decided; NaN before any. */
    public double precision() {
        long d = decided();
        return d == 0 ? Double.NaN : hits() / (double) d;
    }

    /** Hits per session read that followed another; NaN before any. */
    public double recall() {
        long r = followingReads();
        return r == 0 ? Double.NaN : hits() / (double) r;
    }
}
