package io.presage.mirror;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The mirror's own speculative writes, not yet confirmed by the log, and those a committed version
 * beat (marked for rollback): DESIGN §5's validation of incoming versions by vector clock. Speculative
 * transactions ({@link io.presage.speculate}) do not register their writes here, so today it is always
 * empty: they are decided by the coordinator's certification answer, because a newer committed version
 * does not doom a speculation that can still commit at an adjusted timestamp, and a mirror's reads never
 * show a speculative value that this check would have to withdraw.
 */
public final class SpeculativeWrites {
    /** A speculative write the log overruled: roll its transaction back (and re-execute it). */
    public record Rollback(String key, long speculativeVersion, long committedVersion, long sequence) {
    }

    private static final int KEEP = 1024;

    private final ConcurrentHashMap<String, VersionValidation.Local> writes = new ConcurrentHashMap<>();
    private final Deque<Rollback> marked = new ArrayDeque<>();
    private final AtomicLong rolledBack = new AtomicLong();
    private final AtomicLong confirmed = new AtomicLong();

    /** Records a local speculative write of {@code key} (its version and vector clock). */
    public void wrote(String key, long version, Map<String, Long> vclock) {
        writes.put(key, new VersionValidation.Local(version, vclock, true));
    }

    public VersionValidation.Local get(String key) {
        return writes.get(key);
    }

    /** The committed version {@code (version, sequence)} includes the speculative one: it is confirmed. */
    public void confirmed(String key) {
        if (writes.remove(key) != null) {
            confirmed.incrementAndGet();
        }
    }

    /** The committed version won over the speculative one: marked for rollback, counted. */
    public synchronized void overruled(String key, long committedVersion, long sequence) {
        VersionValidation.Local l = writes.remove(key);
        if (l == null) {
            return;
        }
        marked.addLast(new Rollback(key, l.version(), committedVersion, sequence));
        if (marked.size() > KEEP) {
            marked.removeFirst();
        }
        rolledBack.incrementAndGet();
    }

    /** The most recent rollbacks (at most {@value #KEEP}), oldest first. */
    public synchronized List<Rollback> rollbacks() {
        return new ArrayList<>(marked);
    }

    public long rolledBack() {
        return rolledBack.get();
    }

    public long confirmedCount() {
        return confirmed.get();
    }

    public int size() {
        return writes.size();
    }
}
