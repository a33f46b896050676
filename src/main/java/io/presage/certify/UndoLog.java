package io.presage.certify;

import java.util.Arrays;

/**
 * Records how to reverse every change certification makes, so that a batch whose log publish failed
 * can be taken back exactly (the coordinator answers its clients 503 and nothing half-committed
 * remains). Positions are absolute: {@link #mark()} before a batch, {@link #rollbackTo} undoes the
 * suffix after a mark, {@link #release} forgets the prefix once a batch is durable. Disabled, every
 * call is a no-op and the hot path pays one branch.
 */
final class UndoLog {
    static final byte SET_TR = 1;
    static final byte SET_FLOOR = 2;
    static final byte PUSH = 3;
    static final byte CREATE = 4;
    static final byte EVICT = 5;
    static final byte CLAIM = 6;

    /** What a record reverses: the structure that made the change (or a snapshot that restores it). */
    interface Revertible {
        void revert(byte op, long a, long b, long c);
    }

    private final boolean enabled;
    private byte[] ops = new byte[256];
    private Revertible[] refs = new Revertible[256];
    private long[] as = new long[256];
    private long[] bs = new long[256];
    private long[] cs = new long[256];
    private int size;
    private long base;

    UndoLog(boolean enabled) {
        this.enabled = enabled;
    }

    boolean enabled() {
        return enabled;
    }

    long mark() {
        return base + size;
    }

    /** Everything recorded before this position is durable (released). */
    long released() {
        return base;
    }

    void record(byte op, Revertible ref, long a, long b, long c) {
        if (!enabled) {
            return;
        }
        if (size == ops.length) {
            grow();
        }
        ops[size] = op;
        refs[size] = ref;
        as[size] = a;
        bs[size] = b;
        cs[size] = c;
        size++;
    }

    /** Undoes, newest first, everything recorded after {@code mark}. */
    void rollbackTo(long mark) {
        if (mark < base) {
            throw new IllegalStateException("undo position " + mark + " was already released (base " + base + ")");
        }
        int to = (int) (mark - base);
        for (int i = size - 1; i >= to; i--) {
            refs[i].revert(ops[i], as[i], bs[i], cs[i]);
            refs[i] = null;
        }
        size = Math.min(size, to);
    }

    /** Forgets everything recorded before {@code mark}: it can no longer be undone. */
    void release(long mark) {
        int n = (int) Math.min(Math.max(mark - base, 0), size);
        if (n == 0) {
            return;
        }
        int rest = size - n;
        System.arraycopy(ops, n, ops, 0, rest);
        System.arraycopy(refs, n, refs, 0, rest);
        System.arraycopy(as, n, as, 0, rest);
        System.arraycopy(bs, n, bs, 0, rest);
        System.arraycopy(cs, n, cs, 0, rest);
        Arrays.fill(refs, rest, size, null);
        size = rest;
        base += n;
    }

    int pending() {
        return size;
    }

    private void grow() {
        int n = ops.length * 2;
        ops = Arrays.copyOf(ops, n);
        refs = Arrays.copyOf(refs, n);
        as = Arrays.copyOf(as, n);
        bs = Arrays.copyOf(bs, n);
        cs = Arrays.copyOf(cs, n);
    }
}
