package io.presage.bench;

import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The mirrors' own calibration tables ({@code calibration} in a mirror's {@code /v1/status}), summed
 * over mirrors and taken as the difference between two moments, so that the demo reports on the reads
 * it made and not on what the nodes saw before it started.
 *
 * <p>Those tables are the exact check: a mirror decides each sampled read against its own log (not
 * current iff a newer write of the key was committed before the read), which a client comparing with
 * the coordinator a few milliseconds later cannot do. Per confidence decile it holds the reads, the
 * current ones and the sum of the confidences given, so the mean given can be set against the share
 * found current.
 */
final class CalibrationReport {
    private final long[] samples = new long[10];
    private final long[] current = new long[10];
    private final double[] given = new double[10];

    /** From a mirror's {@code calibration} array; rows it cannot read are left out. */
    static CalibrationReport of(JsonNode table) {
        CalibrationReport r = new CalibrationReport();
        if (table == null || !table.isArray()) {
            return r;
        }
        for (JsonNode row : table) {
            int d = decile(row.path("bucket").asText(""));
            long n = row.path("samples").asLong(0);
            if (d < 0 || n <= 0) {
                continue;
            }
            r.samples[d] += n;
            r.current[d] += row.path("current").asLong(0);
            // A node without meanConfidence: the middle of its decile.
            r.given[d] += n * row.path("meanConfidence").asDouble(d / 10.0 + 0.05);
        }
        return r;
    }

    /** "0.8-0.9" → 8; -1 if it is not a decile. */
    static int decile(String bucket) {
        int dash = bucket.indexOf('-');
        try {
            double low = Double.parseDouble(dash < 0 ? bucket : bucket.substring(0, dash));
            int d = (int) Math.round(low * 10);
            return d >= 0 && d <= 9 && Math.abs(low * 10 - d) < 1e-6 ? d : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    CalibrationReport plus(CalibrationReport o) {
        return combine(o, 1);
    }

    /** What was added since {@code earlier}. */
    CalibrationReport minus(CalibrationReport earlier) {
        return combine(earlier, -1);
    }

    private CalibrationReport combine(CalibrationReport o, int sign) {
        CalibrationReport r = new CalibrationReport();
        for (int d = 0; d < 10; d++) {
            r.samples[d] = samples[d] + sign * o.samples[d];
            r.current[d] = current[d] + sign * o.current[d];
            r.given[d] = given[d] + sign * o.given[d];
        }
        return r;
    }

    long samples() {
        long n = 0;
        for (long s : samples) {
            n += s;
        }
        return n;
    }

    /**
     * The expected calibration error: over all reads, how far the mean confidence given in a decile is
     * from the share of its reads found current, weighted by the reads in it (0 is perfect). NaN with
     * no reads.
     */
    double calibrationError() {
        long n = samples();
        if (n == 0) {
            return Double.NaN;
        }
        double gap = 0;
        for (int d = 0; d < 10; d++) {
            gap += Math.abs(given[d] - current[d]);
        }
        return gap / n;
    }

    /**
     * The top decile's stale reads against what its confidence allowed, the regime a client with
     * {@code minConfidence} relies on, which the error above hardly sees: reads given 0.999 and found
     * current 99 % of the time add 0.009 to it, yet are stale ten times as often as promised. Null
     * without reads there.
     */
    String topDecileStaleness() {
        long n = samples[9];
        if (n == 0) {
            return null;
        }
        double allowed = 1 - given[9] / n;
        double found = 1 - (double) current[9] / n;
        return String.format(Locale.ROOT, "reads given 0.9 or more: %.2f %% stale, against %.2f %% their confidence allowed%s",
                100 * found, 100 * allowed, allowed > 0 ? String.format(Locale.ROOT, " (%.1f ×)", found / allowed) : "");
    }

    /** One line a decile with reads, highest first, each line starting with {@code indent}. */
    String table(String indent) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%s%-12s %9s %14s %15s%n", indent, "confidence", "reads",
                "mean given", "found current"));
        for (int d = 9; d >= 0; d--) {
            long n = samples[d];
            if (n <= 0) {
                continue;
            }
            sb.append(String.format(Locale.ROOT, "%s%.1f – %.1f   %,9d %14.3f %15.3f%n", indent, d / 10.0, (d + 1) / 10.0, n,
                    given[d] / n, (double) current[d] / n));
        }
        return sb.toString();
    }
}
