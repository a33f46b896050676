package io.presage.mirror;

import io.presage.api.ApiException;
import io.presage.coord.Tokens;

/**
 * The options of a read at a mirror, validated: any bad value is a 400 BAD_REQUEST saying which.
 *
 * @param minConfidence NaN when not given
 * @param after the log position of the {@code after} token, -1 when not given
 * @param timeoutMs how long to wait for {@code after}; above the configured maximum it is capped
 */
public record ReadOptions(Consistency consistency, double minConfidence, long after, long timeoutMs) {

    public enum Consistency { PREDICTIVE, CAUSAL, STRONG }

    public boolean hasMinConfidence() {
        return !Double.isNaN(minConfidence);
    }

    /** Parses the raw strings of a request (null = absent). */
    public static ReadOptions parse(String consistency, String minConfidence, String after, String timeoutMs,
            long defaultTimeoutMs, long maxTimeoutMs) {
        Consistency c = Consistency.PREDICTIVE;
        if (consistency != null) {
            c = switch (consistency.toLowerCase(java.util.Locale.ROOT)) {
                case "predictive" -> Consistency.PREDICTIVE;
                case "causal" -> Consistency.CAUSAL;
                case "strong" -> Consistency.STRONG;
                default -> throw ApiException.badRequest(
                        "consistency must be predictive, causal or strong, not '" + consistency + "'");
            };
        }
        double min = Double.NaN;
        if (minConfidence != null) {
            try {
                min = Double.parseDouble(minConfidence);
            } catch (NumberFormatException e) {
                min = Double.NaN;
            }
            if (!(min >= 0 && min <= 1)) {
                throw ApiException.badRequest("minConfidence must be a number from 0 to 1, not '" + minConfidence + "'");
            }
        }
        long position = after == null ? -1 : Tokens.position(after);
        long timeout = defaultTimeoutMs;
        if (timeoutMs != null) {
            try {
                timeout = Long.parseLong(timeoutMs);
            } catch (NumberFormatException e) {
                timeout = -1;
            }
            if (timeout < 0) {
                throw ApiException.badRequest("timeoutMs must be a whole number of milliseconds ≥ 0, not '"
                        + timeoutMs + "'");
            }
            timeout = Math.min(timeout, maxTimeoutMs);
        }
        return new ReadOptions(c, min, position, timeout);
    }
}
