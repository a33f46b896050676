package io.presage.log;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * Waiting until a log position is reached: a mirror's causal reads wait for its applier, a
 * coordinator's procedure retries for the commits they lost to to become readable. Whoever moves the
 * position wakes them; nothing polls.
 *
 * <p>One lock guards the map. A lock-free version (a skip list of queues) lost waiters: a waiter
 * added to a position's queue while a timed-out waiter emptied and dropped that same queue ended up
 * in a queue nobody would wake, and its read answered a false 504. Waiting and giving up are rare
 * next to reads (causal reads behind the mirror, procedure retries), and a wake-up with nobody
 * waiting is one uncontended lock per position, so the lock costs nothing measurable; futures are
 * completed outside it.
 */
public final class PositionWaiters {
    private final TreeMap<Long, List<CompletableFuture<Void>>> waiting = new TreeMap<>();
    private final LongSupplier position;

    /** @param position where the reads are, moved before {@link #advanced} is called */
    public PositionWaiters(LongSupplier position) {
        this.position = position;
    }

    /** Completes once the position is at least {@code sequence}; {@link #cancel} it when giving up. */
    public CompletableFuture<Void> await(long sequence) {
        if (position.getAsLong() >= sequence) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        synchronized (waiting) {
            waiting.computeIfAbsent(sequence, s -> new ArrayList<>(2)).add(f);
        }
        // The position may have moved, and this sequence's waiters been woken, between the check and the add.
        if (position.getAsLong() >= sequence) {
            f.complete(null);
        }
        return f;
    }

    /** A waiter that timed out leaves, so abandoned positions (e.g. far-future tokens) do not pile up. */
    public void cancel(long sequence, CompletableFuture<Void> f) {
        synchronized (waiting) {
            List<CompletableFuture<Void>> q = waiting.get(sequence);
            if (q != null && q.remove(f) && q.isEmpty()) {
                waiting.remove(sequence);
            }
        }
    }

    /** The position moved to {@code applied}: wake everyone waiting for it or less. */
    public void advanced(long applied) {
        List<CompletableFuture<Void>> wake = null;
        synchronized (waiting) {
            Map.Entry<Long, List<CompletableFuture<Void>>> e;
            while ((e = waiting.firstEntry()) != null && e.getKey() <= applied) {
                waiting.pollFirstEntry();
                if (wake == null) {
                    wake = e.getValue();
                } else {
                    wake.addAll(e.getValue());
                }
            }
        }
        if (wake != null) {
            for (CompletableFuture<Void> f : wake) {
                f.complete(null);
            }
        }
    }

    public int size() {
        int n = 0;
        synchronized (waiting) {
            for (List<CompletableFuture<Void>> q : waiting.values()) {
                n += q.size();
            }
        }
        return n;
    }
}
