package io.presage.predict;

import java.util.concurrent.ConcurrentHashMap;

import io.presage.apply.Eviction;

/**
 * The last key each session read, so that its next read becomes a transition for {@link Successors}.
 * A session is whatever the client names one (the {@code Presage-Session} header at a mirror); two
 * reads further apart than {@code gapMillis} are not taken as one following the other. Bounded: at
 * most {@code maxSessions}; when full, the sessions idle past the gap are dropped, or if none is, a
 * sixteenth (a dropped session only loses one transition). Dropping in the map's order alone cut
 * recall in {@code bench predict} from about 1 to 0.6: a session per visit filled the map in a minute,
 * and active sessions went with idle ones.
 */
public final class SessionTrail {
    /** A session's read of {@code key} at {@code atMillis}. */
    public record Step(String key, long atMillis) {
    }

    private final ConcurrentHashMap<String, Step> last = new ConcurrentHashMap<>();
    private final long gapMillis;
    private final int maxSessions;

    public SessionTrail(long gapMillis, int maxSessions) {
        this.gapMillis = gapMillis;
        this.maxSessions = maxSessions;
    }

    /**
     * {@code session} reads {@code key} now: returns its read just before (null if none, if that was
     * longer than the gap ago, or if it was of this same key), and remembers this one.
     */
    public Step advance(String session, String key, long nowMillis) {
        if (!last.containsKey(session) && last.size() >= maxSessions) {
            // Sessions idle past the gap can no longer make a transition.
            Eviction.staleFirst(last, maxSessions, s -> nowMillis - s.atMillis() > gapMillis);
        }
        Step before = last.put(session, new Step(key, nowMillis));
        if (before == null || nowMillis - before.atMillis() > gapMillis || before.key().equals(key)) {
            return null;
        }
        return before;
    }

    public int sessions() {
        return last.size();
    }
}
