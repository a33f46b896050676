package io.presage.apply;

import java.util.Map;

/**
 * An item as the local store holds it. {@code valueJson} is the value's JSON text, null when the
 * latest write deleted it (a tombstone keeps the deletion's version, so a transaction that read
 * "absent" after the delete claims that version). {@code sequence} is the log message that wrote it.
 */
public record StoredItem(String key, byte[] valueJson, long version, Map<String, Long> vclock, long sequence) {
    public boolean deleted() {
        return valueJson == null;
    }
}
