package io.presage.mirror;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import io.presage.apply.Eviction;
import io.presage.apply.StoredItem;

/**
 * What reconciliations told the mirror: key {@code k} had version {@code v} at the coordinator when a
 * request sent at {@code t} was answered, so a local copy at {@code v} was current at {@code t} at
 * least. A read of {@code k} that still finds {@code v} can take its staleness from {@code t} when
 * that is more recent than what the log vouches for. The send time, not the answer's arrival, because
 * the mirror cannot tell when during the round trip the coordinator looked.
 *
 * <p>Every reconciliation counts (strong reads, reads below {@code minConfidence}, speculation checks,
 * prefetches). Bounded: the oldest sixteenth is dropped when full.
 */
final class Confirmations {
    private record Mark(long version, long atMillis) {
    }

    private final ConcurrentHashMap<String, Mark> marks = new ConcurrentHashMap<>();
    private final int maxKeys;

    Confirmations(int maxKeys) {
        this.maxKeys = maxKeys;
    }

    /** The coordinator answered {@code keys} with {@code items} (a missing or null item: absent, version 0). */
    void confirmed(List<String> keys, Map<String, StoredItem> items, long sentMillis) {
        for (String k : keys) {
            StoredItem i = items.get(k);
            Mark m = new Mark(i == null ? 0 : i.version(), sentMillis);
            if (!marks.containsKey(k) && marks.size() >= maxKeys) {
                Eviction.lowest(marks, maxKeys, Mark::atMillis); // the oldest answers go first
            }
            marks.merge(k, m, (old, now) -> now.atMillis() >= old.atMillis() ? now : old);
        }
    }

    /**
     * Whether a reconciliation found a newer version of {@code key} at the coordinator than {@code version}:
     * a copy at {@code version} is then known to be stale, as with a pending update from the log. (A key's
     * versions only grow; an answer that the key is absent says nothing here, since the local copy may
     * be a write made after that deletion.)
     */
    boolean knownNewer(String key, long version) {
        Mark m = marks.get(key);
        return m != null && m.version() > version;
    }

    /** When a copy of {@code key} at {@code version} was last confirmed current; 0 if it never was. */
    long confirmedAt(String key, long version) {
        Mark m = marks.get(key);
        return m != null && m.version() == version ? m.atMillis() : 0;
    }

    int size() {
        return marks.size();
    }
}
