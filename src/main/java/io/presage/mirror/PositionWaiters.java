package io.presage.mirror;

import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.LongSupplier;

/**
 * Reads waiting for the mirror to apply a log position (causal reads). The applier wakes them when
 * it moves past their position; nothing polls.
 */
public final class PositionWaiters {
    private final ConcurrentSkipListMap<Long, Queue<CompletableFuture<Void>>> waiting = new ConcurrentSkipListMap<>();
    private final LongSupplier position;

    /** @param position where the mirror's reads are, moved before {@link #advanced} is called */
    public PositionWaiters(LongSupplier position) {
        this.position = position;
    }

    /** Completes once the position is at least {@code sequence}; {@link #cancel} it when giving up. */
    public CompletableFuture<Void> await(long sequence) {
        if (position.getAsLong() >= sequence) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> f = new CompletableFuture<>();
        // Added inside compute, not to a queue fetched first: a cancel that empties and drops that
        // queue in between would otherwise leave this waiter in a queue nobody wakes (a false 504).
        waiting.compute(sequence, (s, q) -> {
            Queue<CompletableFuture<Void>> queue = q == null ? new ConcurrentLinkedQueue<>() : q;
            queue.add(f);
            return queue;
        });
        // The applier may have moved and woken this sequence's waiters between the check and the add.
        if (position.getAsLong() >= sequence) {
            f.complete(null);
        }
        return f;
    }

    /** A waiter that timed out leaves, so abandoned positions (e.g. far-future tokens) do not pile up. */
    public void cancel(long sequence, CompletableFuture<Void> f) {
        waiting.computeIfPresent(sequence, (k, q) -> {
            q.remove(f);
            return q.isEmpty() ? null : q;
        });
    }

    /** The position moved to {@code applied}: wake everyone waiting for it or less. */
    public void advanced(long applied) {
        Map.Entry<Long, Queue<CompletableFuture<Void>>> e;
        while ((e = waiting.firstEntry()) != null && e.getKey() <= applied) {
            if (waiting.remove(e.getKey(), e.getValue())) {
                for (CompletableFuture<Void> f : e.getValue()) {
                    f.complete(null);
                }
            }
        }
    }

    public int size() {
        int n = 0;
        for (Queue<CompletableFuture<Void>> q : waiting.values()) {
            n += q.size();
        }
        return n;
    }
}
