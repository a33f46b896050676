package io.presage.bench;

import java.util.Arrays;

/**
 * Latencies in nanoseconds, appended by one thread (a benchmark client runs on a single event loop),
 * merged and queried after the run. No sampling and no buckets: a run of a few hundred thousand
 * operations takes a few megabytes, and percentiles are exact.
 */
final class LatencyLog {
    private long[] values = new long[1024];
    private int size;

    void add(long nanos) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = nanos;
    }

    int size() {
        return size;
    }

    /** All values of {@code logs}, sorted. */
    static long[] sortedUnion(Iterable<LatencyLog> logs) {
        int n = 0;
        for (LatencyLog l : logs) {
            n += l.size;
        }
        long[] all = new long[n];
        int at = 0;
        for (LatencyLog l : logs) {
            System.arraycopy(l.values, 0, all, at, l.size);
            at += l.size;
        }
        Arrays.sort(all);
        return all;
    }

    /**
     * The nearest-rank percentile of sorted values: the smallest value that at least {@code q} of all
     * values are at or below (so p99 of 100 values is the 99th smallest, and p100 the largest); 0 for
     * no values.
     */
    static long percentile(long[] sorted, double q) {
        if (q < 0 || q > 1) {
            throw new IllegalArgumentException("quantile must be in [0, 1]: " + q);
        }
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length, rank) - 1)];
    }

    /**
     * {@link #percentile} in milliseconds; NaN for no values, which a report prints as {@code NaN} and the
     * RESULT line as {@code null}: 0 ms read as a measurement (a p99 of 0 "under the 25 ms target")
     * when a phase had measured nothing.
     */
    static double percentileMillis(long[] sorted, double q) {
        return sorted.length == 0 ? Double.NaN : percentile(sorted, q) / 1e6;
    }
}
