package io.presage.mirror;

import java.util.concurrent.ConcurrentHashMap;

/**
 * The pre-apply buffer's index: for each key with a received, not yet applied update, the highest
 * log sequence that carries one. A read answered at position {@code p} is known stale if the key's
 * entry is above {@code p}.
 *
 * <p>Readers look here <em>before</em> reading the cache: an entry is removed only after the cache has
 * moved past it, so a reader that finds none and then reads the cache reads at or after that move.
 */
public final class PendingKeys {
    private final ConcurrentHashMap<String, Long> highest = new ConcurrentHashMap<>();

    /** Applier thread: a decoded message at {@code sequence} writes {@code key}. */
    public void received(String key, long sequence) {
        highest.merge(key, sequence, Math::max);
    }

    /** Applier thread, after the cache moved to {@code position}: {@code key}'s updates up to it are applied. */
    public void applied(String key, long position) {
        highest.computeIfPresent(key, (k, s) -> s <= position ? null : s);
    }

    /** The highest received sequence for {@code key}, or 0 if none is waiting. */
    public long highest(String key) {
        Long s = highest.get(key);
        return s == null ? 0 : s;
    }

    /**
     * Applier restart with the store at {@code position}: entries up to it were applied (a chunk whose
     * commit's outcome was lost). The others stay: their messages are not applied yet, and until they
     * are delivered again (the log may be out of reach meanwhile) the keys are still known stale.
     */
    public void forgetUpTo(long position) {
        highest.values().removeIf(s -> s <= position);
    }

    public int size() {
        return highest.size();
    }
}
