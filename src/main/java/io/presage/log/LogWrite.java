package io.presage.log;

import java.util.Arrays;
import java.util.Objects;

/**
 * One write of a committed transaction: the new JSON value of a key, or its deletion.
 *
 * <p>The value array is not copied (the log's hot path should not pay for it): the caller hands it
 * over and must not change it afterwards; {@link #valueJson()} returns the same array.
 *
 * @param key the key written, never null
 * @param valueJson the new value as UTF-8 JSON; {@code null} exactly when {@code delete} is true
 * @param delete true when the write removes the key
 */
public record LogWrite(String key, byte[] valueJson, boolean delete) {

    public LogWrite {
        Objects.requireNonNull(key, "key");
        if (delete != (valueJson == null)) {
            throw new IllegalArgumentException(delete
                    ? "a delete of " + key + " carries no value"
                    : "a write of " + key + " needs a value (use delete to remove the key)");
        }
    }

    /** A write of {@code valueJson} (UTF-8 JSON) to {@code key}. */
    public static LogWrite put(String key, byte[] valueJson) {
        return new LogWrite(key, valueJson, false);
    }

    /** The removal of {@code key}. */
    public static LogWrite remove(String key) {
        return new LogWrite(key, null, true);
    }

    /** Equal when key, delete flag and value bytes (by content) are equal. */
    @Override
    public boolean equals(Object o) {
        return o instanceof LogWrite w
                && delete == w.delete
                && key.equals(w.key)
                && Arrays.equals(valueJson, w.valueJson);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * key.hashCode() + Arrays.hashCode(valueJson)) + Boolean.hashCode(delete);
    }

    @Override
    public String toString() {
        return delete
                ? "LogWrite[delete " + key + "]"
                : "LogWrite[" + key + " = " + valueJson.length + " bytes]";
    }
}
