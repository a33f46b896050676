package io.presage.certify;

import org.agrona.collections.LongHashSet;

/**
 * Hands out unique timestamps placed in the past. Adjusted timestamps live in the gaps the
 * {@link Hlc} leaves between fresh ones, so they can never equal a fresh timestamp; this class makes
 * them unique among themselves. It remembers the last {@code window} claims; anything older is
 * summarised by a floor below which no timestamp is handed out (safe: the transaction aborts with
 * {@code NO_FREE_TIMESTAMP} instead). Single-writer.
 */
final class AdjustedTimestamps implements UndoLog.Revertible {
    private final LongHashSet claimed;
    private final long[] order;
    private int next;
    private long floor;

    AdjustedTimestamps(int window) {
        this.claimed = new LongHashSet(Math.max(16, window * 2));
        this.order = new long[window];
    }

    /** The smallest free gap timestamp T with {@code lo < T < hi}, claimed; or -1. */
    long claim(long lo, long hi) {
        long t = Math.max(lo, floor) + 1;
        while (t < hi) {
            if (Hlc.isFresh(t) || claimed.contains(t)) {
                t++;
                continue;
            }
            remember(t);
            return t;
        }
        return -1;
    }

    /** Takes back a claim (undo of a batch whose publish failed). */
    void release(long t) {
        claimed.remove(t);
    }

    /** Undo of a claim recorded in the {@link UndoLog}. */
    @Override
    public void revert(byte op, long t, long unused1, long unused2) {
        if (op != UndoLog.CLAIM) {
            throw new IllegalStateException("not an adjusted-timestamp undo record: " + op);
        }
        release(t);
    }

    /**
     * Recovery: no timestamp at or below {@code t} is handed out. The part of the log the store had
     * applied is not replayed, so the adjusted timestamps in it are not {@link #observe observed}; one
     * of them handed out again would give two transactions one place in the order.
     */
    void raiseFloor(long t) {
        floor = Math.max(floor, t);
    }

    /** Marks timestamps seen in the log as taken (recovery). */
    void observe(long t) {
        if (!Hlc.isFresh(t) && t > floor) {
            remember(t);
        }
    }

    private void remember(long t) {
        long evicted = order[next];
        if (evicted != 0) {
            claimed.remove(evicted);
            floor = Math.max(floor, evicted);
        }
        order[next] = t;
        next = next + 1 == order.length ? 0 : next + 1;
        claimed.add(t);
    }
}
