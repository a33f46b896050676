package io.presage.certify;

import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Hybrid logical clock issuing unique, strictly increasing 64-bit commit timestamps.
 *
 * <p>Layout (63 usable bits, so every value is a positive Java long and a JSON number within 2^63):
 * <pre>
 *   | 41 bits: milliseconds since 2020-01-01 UTC | 14 bits: logical counter | 8 bits: gap |
 * </pre>
 * Fresh timestamps always have the 8 gap bits at zero. The 255 values between two consecutive fresh
 * timestamps are never issued by the clock: they are the room into which adaptive certification
 * places a transaction <em>between</em> two committed ones (see {@link AdjustedTimestamps}). Because
 * the clock never goes back, a gap value below the clock's current reading can never collide with
 * a fresh timestamp issued later.
 *
 * <p>Thread-safe and lock-free (one CAS per timestamp): several partition masters may share it.
 */
public final class Hlc {
    /** 2020-01-01T00:00:00Z: keeps 41 bits of milliseconds good until 2089. */
    public static final long EPOCH_MILLIS = 1_577_836_800_000L;
    public static final int GAP_BITS = 8;
    public static final int LOGICAL_BITS = 14;
    public static final long GAP = 1L << GAP_BITS;
    private static final int PHYSICAL_SHIFT = GAP_BITS + LOGICAL_BITS;

    private final AtomicLong last = new AtomicLong();
    private final LongSupplier wallMillis;

    public Hlc() {
        this(System::currentTimeMillis);
    }

    public Hlc(LongSupplier wallMillis) {
        this.wallMillis = wallMillis;
    }

    /** A fresh timestamp, strictly greater than every timestamp issued or observed before. */
    public long next() {
        final long physical = physicalFloor(wallMillis.getAsLong());
        while (true) {
            final long prev = last.get();
            // Either the wall clock moved past the last value (take it, counter at zero) or we are in
            // the same millisecond (or the wall clock lags): step one slot, carrying into the millis.
            final long candidate = physical > prev ? physical : nextSlot(prev);
            if (last.compareAndSet(prev, candidate)) {
                return candidate;
            }
        }
    }

    /**
     * Makes every later timestamp greater than {@code ts}: used on recovery with the log's
     * high-water mark, and when a remote timestamp is seen.
     */
    public void observe(long ts) {
        last.accumulateAndGet(ts, Math::max);
    }

    /** The last timestamp issued or observed (0 before any). */
    public long current() {
        return last.get();
    }

    /** True for values the clock itself issues (gap bits zero); adjusted timestamps never are. */
    public static boolean isFresh(long ts) {
        return (ts & (GAP - 1)) == 0;
    }

    /** The wall-clock millisecond a timestamp was issued in (Unix epoch millis). */
    public static long toUnixMillis(long ts) {
        return (ts >>> PHYSICAL_SHIFT) + EPOCH_MILLIS;
    }

    /** The smallest timestamp of a given Unix millisecond. */
    public static long fromUnixMillis(long unixMillis) {
        return physicalFloor(unixMillis);
    }

    private static long physicalFloor(long unixMillis) {
        return Math.max(0, unixMillis - EPOCH_MILLIS) << PHYSICAL_SHIFT;
    }

    private static long nextSlot(long prev) {
        // Round down to the fresh grid, then advance one slot; a full logical counter carries into
        // the millisecond bits, which is the usual HLC behaviour under bursts of > 16384/ms.
        return (prev & ~(GAP - 1)) + GAP;
    }
}
