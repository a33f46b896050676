package io.presage.coord;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Outcomes by client-chosen transaction id, so a retried request gets the first outcome instead of
 * committing twice. Holds the most recent {@code capacity} ids in memory (including ones still in
 * flight, so a retry racing the original waits for it); committed ids also reach the store through
 * the log, which answers for older ones. A committed procedure attempt's result is held with its id
 * (memory only: the log does not carry results), so a retried call gets the result too while its id
 * is held here.
 */
final class IdempotencyCache {
    private final int capacity;
    private final ConcurrentHashMap<String, CompletableFuture<CommitOutcome>> byId = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<String> order = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();
    private final ConcurrentHashMap<String, JsonNode> results = new ConcurrentHashMap<>();

    IdempotencyCache(int capacity) {
        this.capacity = capacity;
    }

    CompletableFuture<CommitOutcome> get(String id) {
        return byId.get(id);
    }

    /** Registers {@code f} for {@code id}; returns the future already registered, if any. */
    CompletableFuture<CommitOutcome> claim(String id, CompletableFuture<CommitOutcome> f) {
        CompletableFuture<CommitOutcome> prior = byId.putIfAbsent(id, f);
        if (prior == null) {
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
            });
        }
        return prior;
    }

    void remember(String id, CommitOutcome outcome) {
        claim(id, CompletableFuture.completedFuture(outcome));
    }

    /**
     * The result of the committed procedure attempt {@code id}, kept while the id is. Put first, then
     * checked: an eviction in between removes the id before the result, so no result outlives its id.
     */
    void rememberResult(String id, JsonNode result) {
        if (result == null) {
            return;
        }
        results.put(id, result);
        if (!byId.containsKey(id)) {
            results.remove(id);
        }
    }

    JsonNode result(String id) {
        return results.get(id);
    }

    void clear() {
        results.clear();
        byId.clear();
        order.clear();
        size.set(0);
    }
}
