package io.presage.certify;

import java.util.Arrays;

/**
 * The bounded window of exact per-key metadata of one partition, plus the floors that stand in
 * for everything evicted from it.
 *
 * <p>At most {@code capacity} keys are held. When a new key needs room, a CLOCK hand (second
 * chance) picks an unheld key not touched since its last pass; its {@code Tr} and {@code Tw} are
 * folded into per-bucket floors ({@code trFloor[b] = max(trFloor[b], Tr)}, likewise {@code Tw}). A key
 * with no entry is treated as having {@code Tr = trFloor[b]} and {@code Tw ≤ twFloor[b]}: upper
 * bounds, so a decision made with them is never wrong, only sometimes more cautious. Memory is
 * {@code capacity} entries plus two long arrays, whatever the number of keys ever written.
 *
 * <h2>Layout</h2>
 * Uniform access over a million keys is memory-bound, so a key's state is kept where few cache
 * misses reach it, and nothing is allocated per key. A key lives in a <em>slot</em> (also its
 * position on the CLOCK): its name in {@link #keys}, and everything else in one row of a flat
 * {@code long[]}: a header (history size, reference bit), the multi-partition holds, {@code Tr},
 * the history floor, the pin and the last {@code k} write timestamps, inline and newest first, so
 * that a current read or a write's check touches only the row's first cache line (rows are padded
 * to whole cache lines and, in a large array, start on one). Keys
 * are found through an open-addressing index (linear probing, backward-shift deletion) whose
 * cells hold the key's hash beside its slot, so a lookup reads one index cell, compares the hash,
 * and checks the name by reference (or {@code equals}) — no node, no state object, no separate
 * history array. Arrays double as the window fills, up to {@code capacity}; from then on the hot
 * path allocates nothing.
 *
 * <p>The history of a key in a slot holds its last write timestamps ({@code Tw} is the newest). Invariant:
 * every write to the key with a timestamp above its floor is in the ring; entries at or below the
 * floor may be there too (an exact base version learnt from a current read).
 *
 * <p>A slot number is only a handle on the key while the key stays in the window; {@link #holds}
 * tells whether it still does. Mutated only by the partition's single writer.
 */
final class KeyWindow implements UndoLog.Revertible {
    static final int NONE = -1;

    // Offsets in a row: what every lookup needs first, then the history, newest first.
    /** Bits 0–15 the history size, bit 32 the CLOCK reference bit. */
    private static final int HDR = 0;
    /**
     * Multi-partition transactions prepared but not yet decided: low 32 bits those that read the
     * key, high 32 bits those that write it.
     */
    private static final int HOLDS = 1;
    private static final int TR = 2;
    private static final int FLOOR = 3;
    /**
     * Undo position just after this key's last write was recorded. Until the undo log is released
     * past it, that write is not durable and the key must stay in the window: the store a cold
     * lookup asks does not have the write yet.
     */
    private static final int PIN = 4;
    private static final int HISTORY = 5;
    /**
     * Longs before the first row: a long[] large enough to matter starts on a heap region boundary
     * with a 16-byte header, so 6 more longs put every row on a 64-byte line.
     */
    private static final int ROW_BASE = 6;
    private static final long REFERENCED = 1L << 32;
    private static final long WRITE_HOLD = 1L << 32;
    private static final int INITIAL_SLOTS = 1024;

    /**
     * Floors of bucket b: {@code floors[2b]} bounds Tr, {@code floors[2b+1]} bounds Tw. Interleaved
     * because a cold read checks one and then raises the other: one cache line instead of two.
     */
    final long[] floors;
    private final int mask;
    private final int depth;
    private final int stride;
    private final int capacity;
    private final UndoLog undo;

    /** Per slot: the key (null: free), its hash, its row in {@link #rows}. */
    private String[] keys;
    private int[] hashes;
    private long[] rows;
    /** Open-addressing index: {@code hash << 32 | (slot + 1)}, 0 when empty. */
    private long[] index;
    private int indexShift;
    /** Slots the CLOCK goes round: {@code capacity}, more only when everything is pinned or held. */
    private int clockLength;
    private int filled;
    private int hand;
    private int size;
    long evictions;

    KeyWindow(int capacity, int buckets, int depth, UndoLog undo) {
        this.capacity = capacity;
        this.depth = depth;
        this.stride = (HISTORY + depth + 7) & ~7; // whole cache lines
        this.floors = new long[2 * buckets];
        this.mask = buckets - 1;
        this.undo = undo;
        this.clockLength = capacity;
        final int slots = Math.min(capacity, INITIAL_SLOTS);
        this.keys = new String[slots];
        this.hashes = new int[slots];
        this.rows = new long[ROW_BASE + slots * stride];
        resizeIndex(slots);
    }

    // ---- lookup -----------------------------------------------------------------------------

    /** The slot holding {@code key} (whose {@code String.hashCode} is {@code hash}), or {@link #NONE}. */
    int find(String key, int hash) {
        final long[] ix = index;
        final int m = ix.length - 1;
        for (int i = home(hash); ; i = (i + 1) & m) {
            final long cell = ix[i];
            if (cell == 0) {
                return NONE;
            }
            if ((int) (cell >>> 32) == hash) {
                final int slot = (int) cell - 1;
                final String k = keys[slot];
                if (k == key || k.equals(key)) {
                    return slot;
                }
            }
        }
    }

    /** Reads the first word of a slot's row (0 for {@link #NONE}): loads the line it will need next. */
    long touch(int slot) {
        return slot < 0 ? 0 : rows[row(slot) + HDR];
    }

    /** True while {@code slot} holds {@code key}: a slot found earlier may since have been evicted or reused. */
    boolean holds(int slot, String key) {
        if (slot < 0) {
            return false;
        }
        final String k = keys[slot];
        return k == key || (k != null && k.equals(key));
    }

    int bucket(int hash) {
        int h = hash * 0x9E3779B9;
        return (h ^ (h >>> 15)) & mask;
    }

    int size() {
        return size;
    }

    /** The slot of {@code key}, created from the floors (evicting another key if full). */
    int getOrCreate(String key, int hash) {
        final int found = find(key, hash);
        if (found >= 0) {
            return found;
        }
        // The floors as they are before making room: an eviction raises only what it folds in.
        final int b = bucket(hash);
        final long tr = trFloor(b);
        final long floor = twFloor(b);
        final int slot = freeSlot();
        final int r = row(slot);
        rows[r + TR] = tr;
        rows[r + FLOOR] = floor;
        rows[r + PIN] = 0;
        rows[r + HDR] = 0;
        rows[r + HOLDS] = 0;
        occupy(slot, key, hash);
        undo.record(UndoLog.CREATE, this, slot, 0, 0);
        return slot;
    }

    // ---- per-key state ----------------------------------------------------------------------

    long tr(int slot) {
        return rows[row(slot) + TR];
    }

    /** Raises {@code Tr} to {@code ts} if below (undoably) and marks the key used. */
    void observeRead(int slot, long ts) {
        final int r = row(slot);
        final long tr = rows[r + TR];
        if (ts > tr) {
            undo.record(UndoLog.SET_TR, this, slot, tr, 0);
            rows[r + TR] = ts;
        }
        rows[r + HDR] |= REFERENCED;
    }

    /** Every write above this is in the history. */
    long floor(int slot) {
        return rows[row(slot) + FLOOR];
    }

    /** How many write timestamps the history holds. */
    int historySize(int slot) {
        return (int) rows[row(slot) + HDR] & 0xFFFF;
    }

    long newest(int slot) {
        return rows[row(slot) + HISTORY];
    }

    /** The i-th write timestamp held, oldest first. */
    long at(int slot, int i) {
        final int r = row(slot);
        return rows[r + HISTORY + historySize(slot) - 1 - i];
    }

    /** The largest write timestamp this key may have (its {@code Tw}, or an upper bound of it). */
    long twBound(int slot) {
        final int r = row(slot);
        final long floor = rows[r + FLOOR];
        return ((int) rows[r + HDR] & 0xFFFF) == 0 ? floor : Math.max(rows[r + HISTORY], floor);
    }

    /** Position (0 = oldest) of a write timestamp in the history, or -1. */
    int findWrite(int slot, long ts) {
        final int r = row(slot) + HISTORY;
        final int n = historySize(slot);
        for (int j = 0; j < n; j++) {
            final long v = rows[r + j];
            if (v == ts) {
                return n - 1 - j;
            }
            if (v < ts) {
                return -1;
            }
        }
        return -1;
    }

    /**
     * Appends a write timestamp (strictly greater than every one held), undoably, and pins the key
     * until the write is durable. A full history drops its oldest entry and raises the floor to it,
     * so the invariant keeps holding.
     */
    void pushWrite(int slot, long ts) {
        final long oldFloor = floor(slot);
        final long dropped = push(slot, ts);
        undo.record(UndoLog.PUSH, this, slot, dropped, oldFloor);
        rows[row(slot) + PIN] = undo.mark();
    }

    /** Appends without an undo record or pin (recovery replay). Returns the entry dropped, or -1. */
    long push(int slot, long ts) {
        final int r = row(slot);
        final long hdr = rows[r + HDR];
        int n = (int) hdr & 0xFFFF;
        long dropped = -1;
        if (n == depth) {
            n--;
            dropped = rows[r + HISTORY + n];
            rows[r + FLOOR] = Math.max(rows[r + FLOOR], dropped);
        }
        System.arraycopy(rows, r + HISTORY, rows, r + HISTORY + 1, n);
        rows[r + HISTORY] = ts;
        rows[r + HDR] = (hdr & REFERENCED) | (n + 1);
        return dropped;
    }

    /** Undoes the last {@link #push}. */
    private void pop(int slot, long dropped, long oldFloor) {
        final int r = row(slot);
        final long hdr = rows[r + HDR];
        int n = ((int) hdr & 0xFFFF) - 1;
        System.arraycopy(rows, r + HISTORY + 1, rows, r + HISTORY, n);
        if (dropped >= 0) {
            rows[r + HISTORY + n] = dropped;
            n++;
        }
        rows[r + FLOOR] = oldFloor;
        rows[r + HDR] = (hdr & REFERENCED) | n;
    }

    void markReferenced(int slot) {
        rows[row(slot) + HDR] |= REFERENCED;
    }

    boolean writeHeld(int slot) {
        return rows[row(slot) + HOLDS] >>> 32 != 0;
    }

    /** Held by a multi-partition transaction being decided, reading or writing it. */
    boolean held(int slot) {
        return rows[row(slot) + HOLDS] != 0;
    }

    void addReadHold(int slot, int delta) {
        rows[row(slot) + HOLDS] += delta;
    }

    void addWriteHold(int slot, int delta) {
        rows[row(slot) + HOLDS] += delta * WRITE_HOLD;
    }

    private int row(int slot) {
        return ROW_BASE + slot * stride;
    }

    // ---- floors -----------------------------------------------------------------------------

    long trFloor(int b) {
        return floors[2 * b];
    }

    long twFloor(int b) {
        return floors[2 * b + 1];
    }

    /** Raises a key's floors directly (cold key, or recovery): conservative for every key sharing the bucket. */
    void raiseTrFloor(int b, long ts) {
        long old = floors[2 * b];
        if (ts > old) {
            undo.record(UndoLog.SET_FLOOR, this, 2 * b, old, 0);
            floors[2 * b] = ts;
        }
    }

    /** Every key's {@code Tr} at least {@code ts} (recovery: read timestamps are not in the log). */
    void raiseAllTr(long ts) {
        for (int i = 0; i < floors.length; i += 2) {
            floors[i] = Math.max(floors[i], ts);
        }
        for (int slot = 0; slot < filled; slot++) {
            if (keys[slot] != null) {
                final int r = row(slot) + TR;
                rows[r] = Math.max(rows[r], ts);
            }
        }
    }

    /** Every key not in the window has {@code Tw ≤ ts} (recovery: writes before the replayed suffix). */
    void raiseAllTw(long ts) {
        for (int i = 1; i < floors.length; i += 2) {
            floors[i] = Math.max(floors[i], ts);
        }
    }

    // ---- undo -------------------------------------------------------------------------------

    @Override
    public void revert(byte op, long a, long b, long c) {
        switch (op) {
            case UndoLog.SET_TR -> rows[row((int) a) + TR] = b;
            case UndoLog.SET_FLOOR -> floors[(int) a] = b;
            case UndoLog.PUSH -> pop((int) a, b, c);
            case UndoLog.CREATE -> vacate((int) a);
            default -> throw new IllegalStateException("not a key window undo record: " + op);
        }
    }

    /** An evicted key as it was, for undoing the eviction. Allocated only when the undo log is on. */
    private static final class Evicted implements UndoLog.Revertible {
        private final KeyWindow window;
        private final String key;
        private final int hash;
        private final long[] row;

        Evicted(KeyWindow window, String key, int hash, long[] row) {
            this.window = window;
            this.key = key;
            this.hash = hash;
            this.row = row;
        }

        @Override
        public void revert(byte op, long oldTr, long oldTw, long slot) {
            window.unevict(this, oldTr, oldTw, (int) slot);
        }
    }

    /** Reverses an eviction: the floors it raised and the key's place in its slot, as it was. */
    private void unevict(Evicted e, long oldTr, long oldTw, int slot) {
        final int b = bucket(e.hash);
        floors[2 * b] = oldTr;
        floors[2 * b + 1] = oldTw;
        if (keys[slot] != null) {
            throw new IllegalStateException("undoing an eviction into an occupied slot " + slot);
        }
        System.arraycopy(e.row, 0, rows, row(slot), stride);
        occupy(slot, e.key, e.hash);
    }

    // ---- slots and the CLOCK ----------------------------------------------------------------

    private int freeSlot() {
        if (filled < clockLength && size < capacity) {
            return claimFrom(filled);
        }
        // CLOCK: two sweeps clear every reference bit. Keys held by a prepared multi-partition
        // transaction, or whose last write is not durable yet (pinned), cannot go; if nothing else
        // can, the window overflows its bound for now (a transaction larger than the window must
        // still be decidable) and shrinks back as it evicts.
        final int limit = 2 * clockLength + 1;
        for (int scanned = 0; scanned < limit; scanned++) {
            final int slot = hand;
            hand = hand + 1 >= clockLength ? 0 : hand + 1;
            if (slot >= filled || keys[slot] == null) {
                return claimFrom(slot);
            }
            final int r = row(slot);
            if (rows[r + HOLDS] != 0 || (undo.enabled() && rows[r + PIN] > undo.released())) {
                continue;
            }
            if ((rows[r + HDR] & REFERENCED) != 0) {
                rows[r + HDR] &= ~REFERENCED;
                continue;
            }
            evict(slot);
            return slot;
        }
        final int slot = clockLength;
        clockLength *= 2;
        return claimFrom(slot);
    }

    /** Takes a free slot, growing the arrays to reach it; slots below {@link #filled} are the only ones ever used. */
    private int claimFrom(int slot) {
        if (slot >= keys.length) {
            grow(slot + 1);
        }
        if (slot >= filled) {
            filled = slot + 1;
        }
        return slot;
    }

    private void evict(int slot) {
        final int r = row(slot);
        final int b = bucket(hashes[slot]);
        if (undo.enabled()) {
            final long[] row = Arrays.copyOfRange(rows, r, r + stride);
            undo.record(UndoLog.EVICT, new Evicted(this, keys[slot], hashes[slot], row),
                    floors[2 * b], floors[2 * b + 1], slot);
        }
        floors[2 * b] = Math.max(floors[2 * b], rows[r + TR]);
        floors[2 * b + 1] = Math.max(floors[2 * b + 1], twBound(slot));
        vacate(slot);
        evictions++;
    }

    private void occupy(int slot, String key, int hash) {
        keys[slot] = key;
        hashes[slot] = hash;
        size++;
        addToIndex(hash, slot);
    }

    private void addToIndex(int hash, int slot) {
        final long[] ix = index;
        final int m = ix.length - 1;
        int i = home(hash);
        while (ix[i] != 0) {
            i = (i + 1) & m;
        }
        ix[i] = cell(hash, slot);
    }

    /** Removes the key in {@code slot} from the index (backward-shift deletion) and frees the slot. */
    private void vacate(int slot) {
        final long[] ix = index;
        final int m = ix.length - 1;
        final long target = cell(hashes[slot], slot);
        int i = home(hashes[slot]);
        while (ix[i] != target) {
            i = (i + 1) & m;
        }
        for (int j = (i + 1) & m; ix[j] != 0; j = (j + 1) & m) {
            final int h = home((int) (ix[j] >>> 32));
            // The entry at j may move back to the hole at i unless its home lies cyclically in (i, j].
            final boolean stays = i <= j ? (h > i && h <= j) : (h > i || h <= j);
            if (!stays) {
                ix[i] = ix[j];
                i = j;
            }
        }
        ix[i] = 0;
        keys[slot] = null;
        size--;
    }

    private static long cell(int hash, int slot) {
        return (long) hash << 32 | (slot + 1L);
    }

    private int home(int hash) {
        return (int) ((hash * 0x9E3779B97F4A7C15L) >>> indexShift);
    }

    private void grow(int atLeast) {
        int n = keys.length;
        while (n < atLeast) {
            n = n * 2;
        }
        n = Math.max(atLeast, Math.min(n, Math.max(capacity, clockLength)));
        keys = Arrays.copyOf(keys, n);
        hashes = Arrays.copyOf(hashes, n);
        if ((long) n * stride > Integer.MAX_VALUE - 64) {
            throw new IllegalStateException("a window of " + n + " keys of " + depth
                    + " write timestamps does not fit in one array: lower windowKeys or historyDepth");
        }
        rows = Arrays.copyOf(rows, ROW_BASE + n * stride);
        resizeIndex(n);
    }

    /** An index with at least twice as many cells as slots (load ≤ 1/2), rebuilt from the slots. */
    private void resizeIndex(int slots) {
        final int cells = Integer.highestOneBit(Math.max(2, slots) * 2 - 1) * 2;
        index = new long[cells];
        indexShift = 64 - Integer.numberOfTrailingZeros(cells);
        for (int slot = 0; slot < filled; slot++) {
            if (keys[slot] != null) {
                addToIndex(hashes[slot], slot);
            }
        }
    }
}
