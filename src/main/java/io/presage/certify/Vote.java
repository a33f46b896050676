package io.presage.certify;

import java.util.ArrayList;
import java.util.List;

/**
 * One partition's answer to "when could this transaction commit?": the open interval
 * {@code (max(readLo, writeLo), hi)}, or a reason it cannot commit at all. A partition certifier
 * reuses one instance on its hot path; {@link #copy()} makes one that can travel (two-phase).
 */
public final class Vote {
    static final long UNBOUNDED = Long.MAX_VALUE;

    /** Set when the partition already knows the transaction must abort. */
    AbortReason reason;
    final List<String> conflicts = new ArrayList<>(4);
    /** Largest version read: T must be above it. */
    long readLo;
    /** Largest Tr/Tw of a written key: T must be above it. */
    long writeLo;
    /** Smallest "next write after the version read" of a stale read: T must be below it. */
    long hi;
    boolean allCurrent;

    // Per-read / per-write detail, for applying the commit and explaining an abort.
    boolean[] readCurrent = new boolean[8];
    long[] readNext = new long[8];
    long[] writeTr = new long[8];
    long[] writeTw = new long[8];
    /** Window slots found by evaluate, so apply does not look up again ({@code KeyWindow.NONE}: not in the window then). */
    int[] readSlot = new int[8];
    int[] writeSlot = new int[8];
    String[] readKeys;
    String[] writeKeys;
    int reads;
    int writes;

    void reset(TxnRequest txn) {
        reason = null;
        conflicts.clear();
        readLo = 0;
        writeLo = 0;
        hi = UNBOUNDED;
        allCurrent = true;
        reads = txn.readKeys.length;
        writes = txn.writeKeys.length;
        readKeys = txn.readKeys;
        writeKeys = txn.writeKeys;
        if (readCurrent.length < reads) {
            readCurrent = new boolean[reads];
            readNext = new long[reads];
            readSlot = new int[reads];
        }
        if (writeTr.length < writes) {
            writeTr = new long[writes];
            writeTw = new long[writes];
            writeSlot = new int[writes];
        }
    }

    /** The first reason found wins; further keys refused for the same reason join its conflicts. */
    void refuse(AbortReason r, String key) {
        if (reason == null) {
            reason = r;
        }
        if (r == reason) {
            conflicts.add(key);
        }
    }

    public boolean refused() {
        return reason != null;
    }

    public AbortReason reason() {
        return reason;
    }

    public List<String> conflicts() {
        return conflicts;
    }

    public long lowerBound() {
        return Math.max(readLo, writeLo);
    }

    public long upperBound() {
        return hi;
    }

    public boolean allCurrent() {
        return allCurrent;
    }

    /**
     * Why no timestamp below {@code hi} (the intersection over all partitions) fits this partition's
     * part, adding the keys to {@code out}; null if this partition is not the obstacle.
     */
    AbortReason explain(long hi, long readLoAll, List<String> out) {
        if (readLoAll + 1 >= hi) {
            for (int i = 0; i < reads; i++) {
                if (!readCurrent[i]) {
                    out.add(readKeys[i]);
                }
            }
            return AbortReason.STALE_READ;
        }
        AbortReason r = null;
        for (int i = 0; i < writes; i++) {
            if (writeTr[i] + 1 >= hi) {
                out.add(writeKeys[i]);
                r = AbortReason.WRITE_AFTER_READ;
            }
        }
        if (r != null) {
            return r;
        }
        for (int i = 0; i < writes; i++) {
            if (writeTw[i] + 1 >= hi) {
                out.add(writeKeys[i]);
                r = AbortReason.WRITE_AFTER_WRITE;
            }
        }
        return r;
    }

    Vote copy() {
        Vote v = new Vote();
        v.reason = reason;
        v.conflicts.addAll(conflicts);
        v.readLo = readLo;
        v.writeLo = writeLo;
        v.hi = hi;
        v.allCurrent = allCurrent;
        v.readCurrent = readCurrent.clone();
        v.readNext = readNext.clone();
        v.writeTr = writeTr.clone();
        v.writeTw = writeTw.clone();
        v.readSlot = readSlot.clone();
        v.writeSlot = writeSlot.clone();
        v.readKeys = readKeys;
        v.writeKeys = writeKeys;
        v.reads = reads;
        v.writes = writes;
        return v;
    }
}
