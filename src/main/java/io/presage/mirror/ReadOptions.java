package io.presage.mirror;

import com.fasterxml.jackson.databind.JsonNode;

import io.presage.api.ApiException;
import io.presage.coord.Tokens;

/**
 * The options of a read at a mirror, validated: any bad value is a 400 BAD_REQUEST saying which.
 *
 * @param minConfidence NaN when not given
 * @param after the log position of the {@code after} token, -1 when not given
 * @param timeoutMs how long to wait for {@code after}; above the configured maximum it is capped
 * @param deadlineMillis when {@code timeoutMs} runs out, counted from when the options were read (the request's
 *        arrival): every wait of a read with {@code after} counts against it, one after another
 */
public record ReadOptions(Consistency consistency, double minConfidence, long after, long timeoutMs, long deadlineMillis) {

    public enum Consistency { PREDICTIVE, CAUSAL, STRONG }

    /** A decimal number as clients write one: optional sign, digits with an optional point, optional exponent. */
    private static final java.util.regex.Pattern DECIMAL =
            java.util.regex.Pattern.compile("[+-]?(?:[0-9]+\\.?[0-9]*|\\.[0-9]+)(?:[eE][+-]?[0-9]+)?");

    public boolean hasMinConfidence() {
        return !Double.isNaN(minConfidence);
    }

    /**
     * The options of a batch read: each from the body's field of that name, else from the query. A
     * non-scalar body value is passed on as its JSON, to be refused by {@link #parse}.
     */
    public static ReadOptions parseBatch(JsonNode body, String consistency, String minConfidence, String after,
            String timeoutMs, long defaultTimeoutMs, long maxTimeoutMs) {
        return parse(field(body, "consistency", consistency, false), field(body, "minConfidence", minConfidence, true),
                field(body, "after", after, false), field(body, "timeoutMs", timeoutMs, true), defaultTimeoutMs, maxTimeoutMs);
    }

    /**
     * A batch read option from the body or the query; given in both with different values, 400. In the
     * body it has its JSON type (a number for minConfidence and timeoutMs, a string for consistency and
     * after), else 400, as API.md has wrong types be.
     */
    private static String field(JsonNode root, String name, String query, boolean number) {
        JsonNode v = root.get(name);
        if (v == null || v.isNull()) {
            return query;
        }
        if (number ? !v.isNumber() : !v.isTextual()) {
            throw ApiException.badRequest(name + " in the body must be a JSON " + (number ? "number" : "string") + ", not "
                    + v.getNodeType().name().toLowerCase(java.util.Locale.ROOT));
        }
        String body = number ? plain(v.asText()) : v.asText();
        if (query != null && !(number ? plain(query) : query).equals(body)) {
            // Picking one silently would answer a different read than the client may think it asked for.
            throw ApiException.badRequest(name + " is given twice with different values: '" + query
                    + "' in the query, '" + body + "' in the body");
        }
        return body;
    }

    /**
     * A number as plain decimal text without trailing zeros, so that {@code 5.0} is the {@code 5} a
     * timeout needs and {@code 0.50} in the query is the {@code 0.5} in the body; text that is not a
     * finite number is kept as it is (the parse refuses it).
     */
    private static String plain(String n) {
        try {
            java.math.BigDecimal d = new java.math.BigDecimal(n).stripTrailingZeros();
            // 1e999999999 written out plainly would be a billion digits; such a value is refused anyway. In
            // long: the scale of 10e2147483647 stripped is Integer.MIN_VALUE, whose int abs is negative.
            return Math.abs((long) d.scale()) > 100 || d.precision() > 100 ? n : d.toPlainString();
        } catch (NumberFormatException | ArithmeticException e) {
            return n; // ArithmeticException: a scale past an int's range once its zeros are stripped
        }
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
            // A decimal number only: Double.parseDouble also takes Java's own forms (0x1p-1, 0.5d, 1f, " .5").
            if (DECIMAL.matcher(minConfidence).matches()) {
                min = Double.parseDouble(minConfidence);
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
        return new ReadOptions(c, min, position, timeout, System.currentTimeMillis() + timeout);
    }
}
