package io.presage.api;

import java.nio.charset.StandardCharsets;

/** Key rules of the API: UTF-8, 1..limit bytes, no control characters. */
public final class Keys {
    private Keys() {
    }

    public static String check(String key, int maxBytes) {
        if (key == null || key.isEmpty()) {
            throw ApiException.invalidKey("key is empty");
        }
        for (int i = 0; i < key.length(); i++) {
            char c = key.charAt(i);
            if (Character.isISOControl(c)) {
                throw ApiException.invalidKey("key contains a control character at position " + i);
            }
            if (Character.isSurrogate(c) && !(Character.isHighSurrogate(c) && i + 1 < key.length()
                    && Character.isLowSurrogate(key.charAt(++i)))) {
                throw ApiException.invalidKey("key is not valid UTF-8 text");
            }
        }
        int bytes = key.length() <= maxBytes / 3 ? key.length() : key.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > maxBytes) {
            throw ApiException.invalidKey("key is " + bytes + " bytes; the limit is " + maxBytes);
        }
        return key;
    }
}
