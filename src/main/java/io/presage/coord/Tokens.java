package io.presage.coord;

import io.presage.api.ApiException;

/**
 * Consistency tokens: an opaque string naming a log position. Passed back as {@code after}, a node
 * waits until it has applied that position, which gives read-your-writes anywhere.
 */
public final class Tokens {
    private static final String PREFIX = "p1.";

    private Tokens() {
    }

    public static String of(long sequence) {
        return PREFIX + Long.toString(sequence, 36);
    }

    /** The log position in a token; 400 BAD_REQUEST when it is not one of ours. */
    public static long position(String token) {
        if (token == null || !token.startsWith(PREFIX) || token.length() > 20) {
            throw ApiException.badRequest("not a consistency token: " + token);
        }
        try {
            long p = Long.parseLong(token.substring(PREFIX.length()), 36);
            if (p < 0) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw ApiException.badRequest("not a consistency token: " + token);
        }
    }
}
