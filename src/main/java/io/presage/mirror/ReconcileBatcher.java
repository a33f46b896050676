package io.presage.mirror;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

import io.presage.api.ApiException;
import io.presage.apply.StoredItem;

/**
 * Reconciliation with the coordinator, batched: while one request is in flight, every reconciliation
 * asked for meanwhile waits and then goes out together in one {@code POST /v1/reconcile}. Under load
 * that is one round trip per round trip, whatever the number of readers; a request's keys always
 * travel in one POST, so its answer is one consistent position.
 *
 * <p>Requests that fit the coordinator's limits alone can exceed its answer budget together
 * ({@code presage.limits.batch-bytes}: the keys are merged, the values are not known in advance). A
 * merged POST refused as too large (413) is therefore sent again one request at a time, so that only
 * a request too large by itself gets the refusal.
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
        ask(new ArrayList<>(keys)).whenComplete((answer, error) -> {
            if (error != null && batch.size() > 1 && tooLarge(error)) {
                for (Request r : batch) {
                    sendAlone(r);
                }
            } else {
                for (Request r : batch) {
                    settle(r, answer, error);
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

    private void sendAlone(Request r) {
        synchronized (this) {
            posts++;
        }
        ask(r.keys()).whenComplete((answer, error) -> settle(r, answer, error));
    }

    private static void settle(Request r, Reconciled answer, Throwable error) {
        if (error != null) {
            r.answer().completeExceptionally(error);
        } else {
            r.answer().complete(answer);
        }
    }

    /** One POST; a sender that throws is a failed answer. */
    private CompletableFuture<Reconciled> ask(List<String> keys) {
        try {
            return sender.apply(keys);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static boolean tooLarge(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof ApiException a && a.status() == 413) {
                return true;
            }
        }
        return false;
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
