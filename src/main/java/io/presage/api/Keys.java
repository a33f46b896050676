package io.presage.api;

import java.nio.charset.StandardCharsets;

/**
 * Rules for the names the API stores as text (keys, transaction ids): UTF-8 text without control
 * characters. PostgreSQL's text refuses NUL, and a lone surrogate would be stored as something
 * else than what the client sent, so either would surface later as a failed write or a lookup that
 * finds nothing; they are refused at the API instead.
 */
public final class Keys {
    private Keys() {
    }

    /** A key: 1..maxBytes bytes of UTF-8, no control characters (400 {@code INVALID_KEY} otherwise). */
    public static String check(String key, int maxBytes) {
        if (key == null || key.isEmpty()) {
            throw ApiException.invalidKey("key is empty");
        }
        String problem = textProblem(key);
        if (problem != null) {
            throw ApiException.invalidKey("key " + problem);
        }
        int bytes = key.length() <= maxBytes / 3 ? key.length() : key.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > maxBytes) {
            throw ApiException.invalidKey("key is " + bytes + " bytes; the limit is " + maxBytes);
        }
        return key;
    }

    /**
     * A transaction id: 1..maxChars characters, no control characters, valid UTF-8 text (400
     * {@code BAD_REQUEST} otherwise, naming {@code what}: "id", "a transaction id").
     */
    public static String checkId(String id, int maxChars, String what) {
        if (id == null || id.isEmpty() || id.length() > maxChars) {
            throw ApiException.badRequest(what + " must be 1 to " + maxChars + " characters");
        }
        String problem = textProblem(id);
        if (problem != null) {
            throw ApiException.badRequest(what + " " + problem);
        }
        return id;
    }

    /** Why {@code s} is not storable text, as the end of a sentence, or null if it is. */
    static String textProblem(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c)) {
                return "contains a control character at position " + i;
            }
            if (Character.isSurrogate(c) && !(Character.isHighSurrogate(c) && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(++i)))) {
                return "is not valid UTF-8 text";
            }
        }
        return null;
    }
}
