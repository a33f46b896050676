package io.presage.predict;

import java.util.concurrent.ConcurrentHashMap;

import io.presage.apply.Eviction;

/**
 * The last key each session read, so that its next read becomes a transition for {@link Successors}.
 * A session is whatever the client names one (the {@code Presage-Session} header at a mirror); two
 * reads further apart than {@code gapMillis} are not taken as one following the other. Bounded: at
 * most {@code maxSessions}, a sixteenth dropped when full (a dropped session only loses one transition).
 */
public final class SessionTrail {
    private record Step(String key, long atMillis) {
    }

    private final ConcurrentHashMap<String, Step> last = new ConcurrentHashMap<>();
    private final long gapMillis;
    private final int maxSessions;

    public SessionTrail(long gapMillis, int maxSessions) {
        this.gapMillis = gapMillis;
        this.maxSessions = maxSessions;
    }

    /**
     * {@code session} reads {@code key} now: returns the key it read just before (null if none, if that
     * was longer than the gap ago, or if it was this same key), and remembers this one.
     */
    public String advance(String session, String key, long nowMillis) {
        if (!last.containsKey(session) && last.size() >= maxSessions) {
            Eviction.sixteenth(last, maxSessions);
        }
        Step before = last.put(session, new Step(key, nowMillis));
        if (before == null || nowMillis - before.atMillis() > gapMillis || before.key().equals(key)) {
            return null;
        }
        return before.key();
    }

    public int sessions() {
        return last.size();
    }
}
