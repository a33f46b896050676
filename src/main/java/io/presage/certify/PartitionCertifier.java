package io.presage.certify;

import org.agrona.collections.Long2ObjectHashMap;

/**
 * The certification state machine of one partition. Single-writer: exactly one thread calls it.
 *
 * <p>{@link #evaluate} computes the interval in which the partition's part of a transaction could
 * commit without changing anything; {@link #apply} records a commit at a chosen timestamp. A
 * single-partition transaction does both back to back; a multi-partition one is
 * {@link #prepare prepared} (evaluated, and its keys held so the interval stays true),
 * then {@link #commit committed} or {@link #abort aborted} once every partition has voted.
 */
final class PartitionCertifier {
    private static final int CURRENT = 0;
    private static final int STALE = 1;
    private static final int TOO_SHORT = 2;
    private static final int UNKNOWN = 3;

    final int id;
    private final CertifierConfig config;
    final KeyWindow window;
    private final ColdVersions cold;
    private final Vote scratch = new Vote();
    private final Long2ObjectHashMap<Held> held = new Long2ObjectHashMap<>();
    /** Sink of the row loads {@link #evaluate} starts early (kept so they are not optimised away). */
    @SuppressWarnings("unused")
    private long prefetched;
    /** Out-parameter of {@link #resolve}: the write after the version read. */
    private long resolvedNext;
    long coldLookups;
    /** Test-only fault injection: proves the serializability oracle can fail. */
    boolean faultSkipTrCheck;

    private record Held(TxnRequest slice, Vote vote) {
    }

    PartitionCertifier(int id, CertifierConfig config, ColdVersions cold, UndoLog undo) {
        this.id = id;
        this.config = config;
        this.cold = cold;
        this.window = new KeyWindow(config.windowKeys(), config.floorBuckets(), config.historyDepth(), undo);
    }

    /** The partition's vote for {@code slice}, in a scratch object valid until the next call. */
    Vote evaluate(TxnRequest slice, Policy policy) {
        final Vote v = scratch;
        v.reset(slice);
        final KeyWindow w = window;
        final String[] rk = slice.readKeys;
        final int[] rh = slice.readHashes;
        final long[] rv = slice.readVersions;
        final String[] wk = slice.writeKeys;
        final int[] wh = slice.writeHashes;
        // Find every key first, and start loading its row: the lookups are independent, so their
        // cache misses overlap instead of queueing behind one another.
        locate(rk, rh, v.readSlot);
        locate(wk, wh, v.writeSlot);
        for (int i = 0; i < rk.length; i++) {
            final int slot = v.readSlot[i];
            if (slot >= 0 && w.writeHeld(slot)) {
                v.refuse(AbortReason.PENDING_CONFLICT, rk[i]);
                continue;
            }
            final long version = rv[i];
            final int r = resolve(rk[i], rh[i], slot, version);
            v.readLo = Math.max(v.readLo, version);
            if (r == CURRENT) {
                v.readCurrent[i] = true;
                v.readNext[i] = Vote.UNBOUNDED;
            } else if (r == STALE) {
                v.readCurrent[i] = false;
                v.readNext[i] = resolvedNext;
                v.allCurrent = false;
                v.hi = Math.min(v.hi, resolvedNext);
                if (policy == Policy.BASIC) {
                    v.refuse(AbortReason.STALE_READ, rk[i]);
                }
            } else {
                v.readCurrent[i] = false;
                v.allCurrent = false;
                v.refuse(r == TOO_SHORT ? AbortReason.HISTORY_TOO_SHORT : AbortReason.UNKNOWN_VERSION, rk[i]);
            }
        }
        for (int i = 0; i < wk.length; i++) {
            final int slot = v.writeSlot[i];
            final long tr;
            final long tw;
            if (slot >= 0) {
                if (w.held(slot)) {
                    v.refuse(AbortReason.PENDING_CONFLICT, wk[i]);
                }
                tr = w.tr(slot);
                tw = w.twBound(slot);
            } else {
                final int b = w.bucket(wh[i]);
                tr = w.trFloor(b);
                tw = w.twFloor(b);
            }
            v.writeTr[i] = faultSkipTrCheck ? 0 : tr;
            v.writeTw[i] = tw;
            v.writeLo = Math.max(v.writeLo, Math.max(v.writeTr[i], tw));
        }
        return v;
    }

    /**
     * Starts loading the state of every key of {@code slice} without deciding anything, so that a
     * transaction spanning partitions pays its cache misses in all of them at once rather than one
     * partition after the other.
     */
    void prefetch(TxnRequest slice) {
        locate(slice.readKeys, slice.readHashes, null);
        locate(slice.writeKeys, slice.writeHashes, null);
    }

    /** Finds each key's slot (into {@code slots} unless null) and touches its row. */
    private void locate(String[] keys, int[] hashes, int[] slots) {
        final KeyWindow w = window;
        long touched = 0;
        for (int i = 0; i < keys.length; i++) {
            final int slot = w.find(keys[i], hashes[i]);
            if (slots != null) {
                slots[i] = slot;
            }
            touched += w.touch(slot);
        }
        prefetched += touched;
    }

    /**
     * Where version {@code v} of a key stands: current, stale (then {@link #resolvedNext} is the
     * write that overwrote it), older than the history held, or never written.
     */
    private int resolve(String key, int hash, int slot, long v) {
        final KeyWindow w = window;
        if (slot >= 0 && w.historySize(slot) > 0) {
            final int at = w.findWrite(slot, v);
            if (at == w.historySize(slot) - 1) {
                return CURRENT;
            }
            if (at >= 0) {
                resolvedNext = w.at(slot, at + 1);
                return STALE;
            }
            if (v == 0 && w.floor(slot) == 0) {
                // A floor of 0: every write the key ever had is in the ring. Version 0, the key absent,
                // was current until the oldest of them, so it is stale like any overwritten version and
                // the transaction may still be placed before that write (it was refused as too old).
                resolvedNext = w.at(slot, 0);
                return STALE;
            }
            // Every write above the floor is in the ring, so v is either a version we never issued
            // or one older than the history still held.
            return v > w.floor(slot) ? UNKNOWN : TOO_SHORT;
        }
        final long floor = slot >= 0 ? w.floor(slot) : w.twFloor(w.bucket(hash));
        if (v == floor) {
            return CURRENT; // Tw ≤ floor and v is one of its versions: it is the last
        }
        if (v > floor) {
            return UNKNOWN;
        }
        // The floor is a bound shared by the bucket: ask the store whether v is still current.
        coldLookups++;
        final long current = cold.currentVersion(key);
        if (current == ColdVersions.UNKNOWN) {
            return TOO_SHORT; // first: UNKNOWN is -1, and a read of version -1 was taken as current
        }
        if (current == v) {
            return CURRENT;
        }
        if (current > v) {
            return TOO_SHORT;
        }
        return UNKNOWN;
    }

    /** Records a commit at {@code ts} of a slice whose vote is {@code v} (not refused, ts inside it). */
    void apply(TxnRequest slice, Vote v, long ts) {
        // Reads first: their Tr lands in the slots found by evaluate; if creating a written key's
        // slot below evicts one of them, the eviction folds that Tr into the floors (still safe).
        final KeyWindow w = window;
        final String[] rk = slice.readKeys;
        final int[] rh = slice.readHashes;
        for (int i = 0; i < rk.length; i++) {
            final int cached = v.readSlot[i];
            final int slot = w.holds(cached, rk[i]) ? cached : w.find(rk[i], rh[i]);
            if (slot >= 0) {
                w.observeRead(slot, ts);
            } else {
                w.raiseTrFloor(w.bucket(rh[i]), ts);
            }
        }
        final String[] wk = slice.writeKeys;
        final int[] wh = slice.writeHashes;
        for (int i = 0; i < wk.length; i++) {
            final int cached = v.writeSlot[i];
            final int slot = w.holds(cached, wk[i]) ? cached : w.getOrCreate(wk[i], wh[i]);
            if (w.historySize(slot) == 0) {
                // If this transaction read the key and the read was current, we know the exact
                // version being replaced: keep it, so readers of it can still be placed in the past.
                final long base = currentReadOf(slice, v, wk[i], wh[i]);
                if (base >= 0) {
                    w.pushWrite(slot, base);
                }
            }
            w.pushWrite(slot, ts);
            w.markReferenced(slot);
        }
    }

    private static long currentReadOf(TxnRequest slice, Vote v, String key, int hash) {
        final String[] rk = slice.readKeys;
        final int[] rh = slice.readHashes;
        for (int i = 0; i < rk.length; i++) {
            if (v.readCurrent[i] && rh[i] == hash && rk[i].equals(key)) {
                return slice.readVersions[i];
            }
        }
        return -1;
    }

    // ---- two-phase --------------------------------------------------------------------------

    /** Phase one: vote, and if not refused hold the slice's keys until {@link #commit}/{@link #abort}. */
    Vote prepare(long txnId, TxnRequest slice, Policy policy) {
        final Vote v = evaluate(slice, policy).copy();
        if (!v.refused()) {
            // Held keys cannot be evicted, so these slots stay theirs until the decision.
            for (int i = 0; i < slice.readKeys.length; i++) {
                v.readSlot[i] = window.getOrCreate(slice.readKeys[i], slice.readHashes[i]);
                window.addReadHold(v.readSlot[i], 1);
            }
            for (int i = 0; i < slice.writeKeys.length; i++) {
                v.writeSlot[i] = window.getOrCreate(slice.writeKeys[i], slice.writeHashes[i]);
                window.addWriteHold(v.writeSlot[i], 1);
            }
            held.put(txnId, new Held(slice, v));
        }
        return v;
    }

    void commit(long txnId, long ts) {
        final Held h = release(txnId);
        if (h != null) {
            apply(h.slice, h.vote, ts);
        }
    }

    void abort(long txnId) {
        release(txnId);
    }

    private Held release(long txnId) {
        final Held h = held.remove(txnId);
        if (h != null) {
            for (int i = 0; i < h.slice.readKeys.length; i++) {
                window.addReadHold(h.vote.readSlot[i], -1);
            }
            for (int i = 0; i < h.slice.writeKeys.length; i++) {
                window.addWriteHold(h.vote.writeSlot[i], -1);
            }
        }
        return h;
    }

    // ---- recovery ---------------------------------------------------------------------------

    /** Replays one committed write (log order; per key the timestamps increase). */
    void replayWrite(String key, long ts) {
        final int slot = window.getOrCreate(key, key.hashCode());
        if (window.historySize(slot) == 0 || ts > window.newest(slot)) {
            window.push(slot, ts);
        }
    }

    /** The exact current version if the key is in the window with history, else -1. */
    long knownVersion(String key) {
        final int slot = window.find(key, key.hashCode());
        return slot >= 0 && window.historySize(slot) > 0 ? window.newest(slot) : -1;
    }
}
