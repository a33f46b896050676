package io.presage.certify;

import java.util.Arrays;
import java.util.HashMap;

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
 */
final class KeyWindow {
    /**
     * Floors of bucket b: {@code floors[2b]} bounds Tr, {@code floors[2b+1]} bounds Tw. Interleaved
     * because a cold read checks one and then raises the other: one cache line instead of two.
     */
    final long[] floors;
    private final int mask;
    private final int depth;
    private final int capacity;
    private final HashMap<String, KeyState> map;
    private KeyState[] clock;
    private int filled;
    private int hand;
    private final UndoLog undo;
    long evictions;

    KeyWindow(int capacity, int buckets, int depth, UndoLog undo) {
        this.capacity = capacity;
        this.depth = depth;
        this.floors = new long[2 * buckets];
        this.mask = buckets - 1;
        this.map = new HashMap<>(Math.min(capacity, 1 << 20) * 2);
        this.clock = new KeyState[capacity];
        this.undo = undo;
    }

    KeyState get(String key) {
        return map.get(key);
    }

    int bucket(String key) {
        int h = key.hashCode() * 0x9E3779B9;
        return (h ^ (h >>> 15)) & mask;
    }

    int size() {
        return map.size();
    }

    /** The entry for {@code key}, created from the floors (evicting another key if full). */
    KeyState getOrCreate(String key) {
        KeyState st = map.get(key);
        if (st != null) {
            return st;
        }
        int b = bucket(key);
        st = new KeyState(key, b, trFloor(b), twFloor(b), depth);
        st.slot = freeSlot();
        clock[st.slot] = st;
        map.put(key, st);
        undo.record(UndoLog.CREATE, st, 0, 0, 0);
        return st;
    }

    /** Reverses {@link #getOrCreate} (undo). */
    void uncreate(KeyState st) {
        st.live = false;
        map.remove(st.key, st);
        if (clock[st.slot] == st) {
            clock[st.slot] = null;
        }
    }

    /** Reverses an eviction (undo): the floors it raised and its place in the map and clock. */
    long trFloor(int b) {
        return floors[2 * b];
    }

    long twFloor(int b) {
        return floors[2 * b + 1];
    }

    void unevict(KeyState st, long oldTr, long oldTw, int slot) {
        floors[2 * st.bucket] = oldTr;
        floors[2 * st.bucket + 1] = oldTw;
        st.live = true;
        st.slot = slot;
        clock[slot] = st;
        map.put(st.key, st);
    }

    /** Raises a key's floors directly (cold key, or recovery): conservative for every key sharing the bucket. */
    void raiseTrFloor(int b, long ts) {
        long old = floors[2 * b];
        if (ts > old) {
            undo.record(UndoLog.SET_FLOOR_ARRAY, floors, 2 * b, old, 0);
            floors[2 * b] = ts;
        }
    }

    void restoreFloor(long[] array, int b, long old) {
        array[b] = old;
    }

    /** Every key's {@code Tr} at least {@code ts} (recovery: read timestamps are not in the log). */
    void raiseAllTr(long ts) {
        for (int i = 0; i < floors.length; i += 2) {
            floors[i] = Math.max(floors[i], ts);
        }
        for (KeyState st : map.values()) {
            st.tr = Math.max(st.tr, ts);
        }
    }

    /** Every key not in the window has {@code Tw ≤ ts} (recovery: writes before the replayed suffix). */
    void raiseAllTw(long ts) {
        for (int i = 1; i < floors.length; i += 2) {
            floors[i] = Math.max(floors[i], ts);
        }
    }

    private int freeSlot() {
        if (filled < clock.length && map.size() < capacity) {
            return filled++;
        }
        // CLOCK: two sweeps clear every reference bit. Keys held by a prepared multi-partition
        // transaction, or whose last write is not durable yet (pinned), cannot go; if nothing else
        // can, the window overflows its bound for now (a transaction larger than the window must
        // still be decidable) and shrinks back as it evicts.
        final int limit = 2 * clock.length + 1;
        for (int scanned = 0; scanned < limit; scanned++) {
            int slot = hand;
            hand = hand + 1 >= clock.length ? 0 : hand + 1;
            KeyState st = clock[slot];
            if (st == null || !st.live) {
                return slot;
            }
            if (st.held() || (undo.enabled() && st.pin > undo.released())) {
                continue;
            }
            if (st.referenced) {
                st.referenced = false;
                continue;
            }
            evict(st, slot);
            return slot;
        }
        clock = Arrays.copyOf(clock, clock.length * 2);
        return filled++;
    }

    private void evict(KeyState st, int slot) {
        int b = st.bucket;
        undo.record(UndoLog.EVICT, st, floors[2 * b], floors[2 * b + 1], slot);
        floors[2 * b] = Math.max(floors[2 * b], st.tr);
        floors[2 * b + 1] = Math.max(floors[2 * b + 1], st.twBound());
        st.live = false;
        map.remove(st.key);
        clock[slot] = null;
        evictions++;
    }
}
