package io.presage.coord;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The values of acknowledged commits that the coordinator's own applier has not yet made durable
 * in PostgreSQL (DESIGN §5). Reads look here first, so every acknowledged commit is visible at
 * once; an entry goes when the applier has applied its log sequence. Memory is bounded by the
 * apply lag, not by the data size.
 */
public final class RecentWrites {

    /** A committed version: {@code valueJson} null means deleted. */
    public record Version(String key, byte[] valueJson, long version, long sequence, Map<String, Long> vclock) {
        public boolean deleted() {
            return valueJson == null;
        }
    }

    private final ConcurrentHashMap<String, Version> byKey = new ConcurrentHashMap<>();

    public Version get(String key) {
        return byKey.get(key);
    }

    /** Records a version; an older one never replaces a newer one (acks may be handled out of order). */
    public void put(Version v) {
        byKey.merge(v.key(), v, (old, now) -> now.version() > old.version() ? now : old);
    }

    /** Drops every entry the store now holds durably (its sequence is applied). */
    public void evictApplied(long appliedSequence) {
        byKey.values().removeIf(v -> v.sequence() <= appliedSequence);
    }

    public int size() {
        return byKey.size();
    }

    public void clear() {
        byKey.clear();
    }
}
