package io.presage.certify;

/**
 * Certification metadata of one recently written key: {@code Tr}, and the last k write timestamps
 * in a ring, oldest first ({@code Tw} is the newest). Mutated only by the partition's single writer.
 *
 * <p>Invariant: every write to the key with a timestamp above {@link #floor} is in the ring. Entries
 * at or below the floor may be there too (an exact base version learnt from a current read).
 */
final class KeyState {
    final String key;
    final int bucket;
    long tr;
    long floor;
    private final long[] ring;
    private int start;
    private int size;

    /** Multi-partition transactions prepared but not yet decided that read / write this key. */
    int readHolds;
    int writeHolds;
    /**
     * Undo position just after this key's last write was recorded. Until the undo log is released
     * past it, that write is not durable and the key must stay in the window: the store a cold
     * lookup asks does not have the write yet.
     */
    long pin;
    /** CLOCK second-chance bit. */
    boolean referenced;
    /** False once evicted or its creation undone. */
    boolean live;
    int slot = -1;

    KeyState(String key, int bucket, long tr, long floor, int depth) {
        this.key = key;
        this.bucket = bucket;
        this.tr = tr;
        this.floor = floor;
        this.ring = new long[depth];
        this.live = true;
    }

    int size() {
        return size;
    }

    long newest() {
        return ring[index(size - 1)];
    }

    long oldest() {
        return ring[start];
    }

    /** The largest write timestamp this key may have (its {@code Tw}, or an upper bound of it). */
    long twBound() {
        return size == 0 ? floor : Math.max(newest(), floor);
    }

    /** Position (0 = oldest) of a write timestamp in the ring, or -1. */
    int find(long ts) {
        for (int i = size - 1; i >= 0; i--) {
            long v = ring[index(i)];
            if (v == ts) {
                return i;
            }
            if (v < ts) {
                return -1;
            }
        }
        return -1;
    }

    long at(int i) {
        return ring[index(i)];
    }

    /**
     * Appends a write timestamp (strictly greater than every one held). Returns the entry dropped to
     * make room, or -1; dropping raises the floor so the invariant keeps holding.
     */
    long push(long ts) {
        long dropped = -1;
        if (size == ring.length) {
            dropped = ring[start];
            floor = Math.max(floor, dropped);
            start = index(1);
            size--;
        }
        ring[index(size)] = ts;
        size++;
        return dropped;
    }

    /** Undoes the last {@link #push}. */
    void pop(long dropped, long oldFloor) {
        size--;
        if (dropped >= 0) {
            start = (start - 1 + ring.length) % ring.length;
            ring[start] = dropped;
            size++;
        }
        floor = oldFloor;
    }

    boolean held() {
        return readHolds != 0 || writeHolds != 0;
    }

    private int index(int i) {
        int j = start + i;
        return j >= ring.length ? j - ring.length : j;
    }
}
