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
    private final UndoLog undo;
    private final Vote scratch = new Vote();
    private final Long2ObjectHashMap<Held> held = new Long2ObjectHashMap<>();
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
        this.undo = undo;
        this.window = new KeyWindow(config.windowKeys(), config.floorBuckets(), config.historyDepth(), undo);
    }

    /** The partition's vote for {@code slice}, in a scratch object valid until the next call. */
    Vote evaluate(TxnRequest slice, Policy policy) {
        final Vote v = scratch;
        v.reset(slice);
        final String[] rk = slice.readKeys;
        final long[] rv = slice.readVersions;
        for (int i = 0; i < rk.length; i++) {
            final KeyState st = window.get(rk[i]);
            v.readState[i] = st;
            if (st != null && st.writeHolds != 0) {
                v.refuse(AbortReason.PENDING_CONFLICT, rk[i]);
                continue;
            }
            final long version = rv[i];
            final int r = resolve(rk[i], st, version);
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
        final String[] wk = slice.writeKeys;
        for (int i = 0; i < wk.length; i++) {
            final KeyState st = window.get(wk[i]);
            v.writeState[i] = st;
            final long tr;
            final long tw;
            if (st != null) {
                if (st.held()) {
                    v.refuse(AbortReason.PENDING_CONFLICT, wk[i]);
                }
                tr = st.tr;
                tw = st.twBound();
            } else {
                final int b = window.bucket(wk[i]);
                tr = window.trFloor(b);
                tw = window.twFloor(b);
            }
            v.writeTr[i] = faultSkipTrCheck ? 0 : tr;
            v.writeTw[i] = tw;
            v.writeLo = Math.max(v.writeLo, Math.max(v.writeTr[i], tw));
        }
        return v;
    }

    /**
     * Where version {@code v} of a key stands: current, stale (then {@link #resolvedNext} is the
     * write that overwrote it), older than the history held, or never written.
     */
    private int resolve(String key, KeyState st, long v) {
        if (st != null && st.size() > 0) {
            final int at = st.find(v);
            if (at == st.size() - 1) {
                return CURRENT;
            }
            if (at >= 0) {
                resolvedNext = st.at(at + 1);
                return STALE;
            }
            // Every write above the floor is in the ring, so v is either a version we never issued
            // or one older than the history still held.
            return v > st.floor ? UNKNOWN : TOO_SHORT;
        }
        final long floor = st != null ? st.floor : window.twFloor(window.bucket(key));
        if (v == floor) {
            return CURRENT; // Tw ≤ floor and v is one of its versions: it is the last
        }
        if (v > floor) {
            return UNKNOWN;
        }
        // The floor is a bound shared by the bucket: ask the store whether v is still current.
        coldLookups++;
        final long current = cold.currentVersion(key);
        if (current == v) {
            return CURRENT;
        }
        if (current == ColdVersions.UNKNOWN || current > v) {
            return TOO_SHORT;
        }
        return UNKNOWN;
    }

    /** Records a commit at {@code ts} of a slice whose vote is {@code v} (not refused, ts inside it). */
    void apply(TxnRequest slice, Vote v, long ts) {
        // Reads first: their Tr lands in the states found by evaluate; if creating a written key's
        // state below evicts one of them, the eviction folds that Tr into the floors (still safe).
        final String[] rk = slice.readKeys;
        for (int i = 0; i < rk.length; i++) {
            final KeyState st = live(v.readState[i], rk[i]);
            if (st != null) {
                if (ts > st.tr) {
                    undo.record(UndoLog.SET_TR, st, st.tr, 0, 0);
                    st.tr = ts;
                }
                st.referenced = true;
            } else {
                window.raiseTrFloor(window.bucket(rk[i]), ts);
            }
        }
        final String[] wk = slice.writeKeys;
        for (int i = 0; i < wk.length; i++) {
            final KeyState cached = v.writeState[i];
            final KeyState st = cached != null && cached.live ? cached : window.getOrCreate(wk[i]);
            if (st.size() == 0) {
                // If this transaction read the key and the read was current, we know the exact
                // version being replaced: keep it, so readers of it can still be placed in the past.
                final long base = currentReadOf(slice, v, wk[i]);
                if (base >= 0) {
                    pushWrite(st, base);
                }
            }
            pushWrite(st, ts);
            st.referenced = true;
        }
    }

    /** The state evaluate found, if still in the window; else whatever the window holds now. */
    private KeyState live(KeyState cached, String key) {
        return cached != null && cached.live ? cached : window.get(key);
    }

    private void pushWrite(KeyState st, long ts) {
        final long oldFloor = st.floor;
        final long dropped = st.push(ts);
        undo.record(UndoLog.PUSH, st, dropped, oldFloor, 0);
        st.pin = undo.mark();
    }

    private static long currentReadOf(TxnRequest slice, Vote v, String key) {
        final String[] rk = slice.readKeys;
        for (int i = 0; i < rk.length; i++) {
            if (v.readCurrent[i] && rk[i].equals(key)) {
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
            for (String k : slice.readKeys) {
                window.getOrCreate(k).readHolds++;
            }
            for (String k : slice.writeKeys) {
                window.getOrCreate(k).writeHolds++;
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
            for (String k : h.slice.readKeys) {
                window.get(k).readHolds--;
            }
            for (String k : h.slice.writeKeys) {
                window.get(k).writeHolds--;
            }
        }
        return h;
    }

    // ---- recovery and undo ------------------------------------------------------------------

    /** Replays one committed write (log order; per key the timestamps increase). */
    void replayWrite(String key, long ts) {
        final KeyState st = window.getOrCreate(key);
        if (st.size() == 0 || ts > st.newest()) {
            st.push(ts);
        }
    }

    void revert(byte op, Object ref, long a, long b, long c) {
        switch (op) {
            case UndoLog.SET_TR -> ((KeyState) ref).tr = a;
            case UndoLog.SET_FLOOR_ARRAY -> window.restoreFloor((long[]) ref, (int) a, b);
            case UndoLog.PUSH -> ((KeyState) ref).pop(a, b);
            case UndoLog.CREATE -> window.uncreate((KeyState) ref);
            case UndoLog.EVICT -> window.unevict((KeyState) ref, a, b, (int) c);
            default -> throw new IllegalStateException("not a partition undo record: " + op);
        }
    }

    /** The exact current version if the key is in the window with history, else -1. */
    long knownVersion(String key) {
        final KeyState st = window.get(key);
        return st != null && st.size() > 0 ? st.newest() : -1;
    }
}
