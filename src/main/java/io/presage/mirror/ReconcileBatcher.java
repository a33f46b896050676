package io.presage.mirror;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

import io.presage.apply.StoredItem;

/**
 * Reconciliation with the coordinator, batched: while one request is in flight, every reconciliation
 * asked for meanwhile waits and then goes out together in one {@code POST /v1/reconcile}. Under load
 * that is one round trip per round trip, whatever the number of readers; a request's keys always
 * travel in one POST, so its answer is one consistent position.
 */
public final class ReconcileBatcher {

    /** The primary's answer: each key's latest committed state (null item: never written) at {@code sequence}. */
    public record Reconciled(Map<String, StoredItem> items, long sequence) {
    }

    private record Request(List<String> keys, CompletableFuture<Reconciled> answer) {
    }

    private final Function<List<String>, CompletableFuture<Reconciled>> sender;
    private final int maxKeys;
    private final ArrayDeque<Request> queue = new ArrayDeque<>();
    private boolean inFlight;
    private long posts;

    /** @param sender sends one POST /v1/reconcile for these keys; @param maxKeys most keys per POST */
    public ReconcileBatcher(Function<List<String>, CompletableFuture<Reconciled>> sender, int maxKeys) {
        this.sender = sender;
        this.maxKeys = maxKeys;
    }

    public CompletableFuture<Reconciled> reconcile(List<String> keys) {
        Request r = new Request(keys, new CompletableFuture<>());
        List<Request> batch;
        synchronized (this) {
            queue.addLast(r);
            if (inFlight) {
                return r.answer();
            }
            inFlight = true;
            batch = drain();
        }
        send(batch);
        return r.answer();
    }

    private void send(List<Request> batch) {
        Set<String> keys = new LinkedHashSet<>();
        for (Request r : batch) {
            keys.addAll(r.keys());
        }
        CompletableFuture<Reconciled> f;
        try {
            f = sender.apply(new ArrayList<>(keys));
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((answer, error) -> {
            for (Request r : batch) {
                if (error != null) {
                    r.answer().completeExceptionally(error);
                } else {
                    r.answer().complete(answer);
                }
            }
            List<Request> next;
            synchronized (this) {
                if (queue.isEmpty()) {
                    inFlight = false;
                    return;
                }
                next = drain();
            }
            send(next);
        });
    }

    /** The queued requests that fit in one POST (at least one). Caller holds the lock. */
    private List<Request> drain() {
        List<Request> batch = new ArrayList<>();
        Set<String> keys = new LinkedHashSet<>();
        while (!queue.isEmpty()) {
            Request r = queue.peekFirst();
            Set<String> union = new LinkedHashSet<>(keys);
            union.addAll(r.keys());
            if (!batch.isEmpty() && union.size() > maxKeys) {
                break;
            }
            keys = union;
            batch.add(queue.pollFirst());
        }
        posts++;
        return batch;
    }

    /** POSTs sent so far. */
    public synchronized long posts() {
        return posts;
    }
}
