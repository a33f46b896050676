package io.presage.api;

import java.nio.charset.StandardCharsets;
import java.util.List;

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
        // Characters are code points, as API.md counts them: an emoji is one, not two UTF-16 units.
        if (id == null || id.isEmpty() || id.codePointCount(0, id.length()) > maxChars) {
            throw ApiException.badRequest(what + " must be 1 to " + maxChars + " characters");
        }
        String problem = textProblem(id);
        if (problem != null) {
            throw ApiException.badRequest(what + " " + problem);
        }
        return id;
    }

    /**
     * A key as it came in the URL path, still percent-encoded, decoded strictly (400
     * {@code INVALID_KEY} if its escapes are not UTF-8). The framework's own decoder turns bytes that
     * are not UTF-8 into U+FFFD, so {@code %FF} and {@code %FE} were the same key, and neither the one sent.
     */
    public static String fromPath(String raw) {
        try {
            return percentDecoded(raw, false);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalidKey("key in the path " + e.getMessage());
        }
    }

    /**
     * An id from the URL, percent-encoded, decoded strictly (400 {@code BAD_REQUEST} naming
     * {@code what}). In a query {@code +} is a space, as the framework decodes it.
     */
    public static String idFromUrl(String raw, boolean query, String what) {
        if (raw == null) {
            return null;
        }
        try {
            return percentDecoded(raw, query);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(what + " " + e.getMessage());
        }
    }

    /** The first value of parameter {@code name} in a raw query string, still encoded; null if absent. */
    public static String rawQueryValue(String query, String name) {
        if (query == null) {
            return null;
        }
        for (String pair : query.split("&", -1)) {
            int eq = pair.indexOf('=');
            if (nameIs(eq < 0 ? pair : pair.substring(0, eq), name)) {
                return eq < 0 ? "" : pair.substring(eq + 1);
            }
        }
        return null;
    }

    /** The first of {@code names} that the raw query string has more than once (names decoded); null if none. */
    public static String repeatedQueryName(String query, List<String> names) {
        boolean[] seen = new boolean[names.size()];
        for (String pair : query.split("&", -1)) {
            int eq = pair.indexOf('=');
            String rawName = eq < 0 ? pair : pair.substring(0, eq);
            for (int i = 0; i < names.size(); i++) {
                if (nameIs(rawName, names.get(i))) {
                    if (seen[i]) {
                        return names.get(i);
                    }
                    seen[i] = true;
                }
            }
        }
        return null;
    }

    /** Whether a query parameter's raw name is {@code name}, as the framework decodes names too ({@code %69d} is {@code id}). */
    private static boolean nameIs(String rawName, String name) {
        if (rawName.equals(name)) {
            return true;
        }
        try {
            return rawName.indexOf('%') >= 0 && percentDecoded(rawName, true).equals(name);
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** {@code raw} percent-decoded as UTF-8; IllegalArgumentException, with the end of a sentence, if it cannot be. */
    static String percentDecoded(String raw, boolean plusIsSpace) {
        if (raw.indexOf('%') < 0 && !(plusIsSpace && raw.indexOf('+') >= 0)) {
            return raw;
        }
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                int hi = i + 2 < raw.length() ? Character.digit(raw.charAt(i + 1), 16) : -1;
                int lo = hi < 0 ? -1 : Character.digit(raw.charAt(i + 2), 16);
                if (lo < 0) {
                    throw new IllegalArgumentException("has a '%' at position " + i + " not followed by two hex digits");
                }
                bytes.write(hi << 4 | lo);
                i += 2;
            } else if (c == '+' && plusIsSpace) {
                bytes.write(' ');
            } else if (c < 0x80) {
                bytes.write(c);
            } else {
                int cp = raw.codePointAt(i);
                if (Character.isSurrogate((char) cp)) {
                    throw new IllegalArgumentException("is not valid UTF-8 text");
                }
                bytes.writeBytes(Character.toString(cp).getBytes(StandardCharsets.UTF_8));
                i += Character.charCount(cp) - 1;
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
                    .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException("is not valid UTF-8 once its %-escapes are decoded");
        }
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
