package io.presage.coord;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Outcomes by client-chosen transaction id, so a retried request gets the first outcome instead of
 * committing twice. Holds the most recent {@code capacity} ids in memory (including ones still in
 * flight, so a retry racing the original waits for it); committed ids also reach the store through
 * the log, which answers for older ones. A committed procedure attempt's result is held with its id
 * (JSON text; the log and the store carry it too), so a retried call gets the result too.
 */
final class IdempotencyCache {
    private final int capacity;
    private final ConcurrentHashMap<String, CompletableFuture<CommitOutcome>> byId = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<String> order = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();
    private final ConcurrentHashMap<String, String> results = new ConcurrentHashMap<>();

    IdempotencyCache(int capacity) {
        this.capacity = capacity;
    }

    CompletableFuture<CommitOutcome> get(String id) {
        return byId.get(id);
    }

    /**
     * Registers {@code f} for {@code id}, with the procedure result its transaction carries (null if
     * none); returns the future already registered, if any. The result is in place before {@code f}
     * can complete, so whoever sees the id committed finds the result of that commit, not of a
     * retry that raced it.
     */
    CompletableFuture<CommitOutcome> claim(String id, CompletableFuture<CommitOutcome> f, String result) {
        CompletableFuture<CommitOutcome> prior = byId.putIfAbsent(id, f);
        if (prior == null) {
            if (result != null) {
                results.put(id, result);
                if (byId.get(id) != f) {
                    results.remove(id); // evicted meanwhile: no result outlives its id
                }
            }
            order.add(id);
            if (size.incrementAndGet() > capacity) {
                String oldest = order.poll();
                if (oldest != null) {
                    byId.remove(oldest);
                    results.remove(oldest);
                    size.decrementAndGet();
                }
            }
            // Not committed means not decided: a retry must be allowed to try again.
            f.whenComplete((o, e) -> {
                if (e != null || o instanceof CommitOutcome.Unavailable) {
                    byId.remove(id, f);
                }
                if (!(o instanceof CommitOutcome.Committed)) {
                    results.remove(id);
                }
            });
        }
        return prior;
    }

    void remember(String id, CommitOutcome outcome, String result) {
        claim(id, CompletableFuture.completedFuture(outcome), result);
    }

    /** The procedure result of the committed id, while the id is held (null: none, or not held). */
    String result(String id) {
        return results.get(id);
    }

    void clear() {
        results.clear();
        byId.clear();
        order.clear();
        size.set(0);
    }
}
