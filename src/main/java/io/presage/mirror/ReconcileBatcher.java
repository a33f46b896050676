package io.presage.mirror;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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
 *
 * <p>Only one POST is in flight (but for the one-by-one resends after a 413), so while the coordinator
 * is slow or silent (each POST failing only at its timeout) requests pile up behind it. Each therefore
 * fails 503 once it has waited {@code maxWait} in all, queued or sent (one queued that long is not sent
 * any more), and at most {@code maxQueued} wait: more are refused at once, so neither a reader's wait
 * nor the queue grows without bound.
 */
public final class ReconcileBatcher {

    /** The primary's answer: each key's latest committed state (null item: never written) at {@code sequence}. */
    /** {@code stream}: the log stream {@code sequence} counts in, from the answer's token (0: not named). */
    public record Reconciled(Map<String, StoredItem> items, long sequence, long stream) {
    }

    private record Request(List<String> keys, CompletableFuture<Reconciled> answer) {
    }

    private final Function<List<String>, CompletableFuture<Reconciled>> sender;
    private final int maxKeys;
    private final long maxWaitMillis;
    private final int maxQueued;
    /** Waiting to be sent, in arrival order; one that times out leaves at once (so the cap counts live ones). */
    private final LinkedHashSet<Request> queue = new LinkedHashSet<>();
    private boolean inFlight;
    private long posts;

    /**
     * @param sender sends one POST /v1/reconcile for these keys
     * @param maxKeys most keys per POST
     * @param maxWaitMillis longest a request waits for its answer, queued and sent
     * @param maxQueued most requests waiting to be sent
     */
    public ReconcileBatcher(Function<List<String>, CompletableFuture<Reconciled>> sender, int maxKeys, long maxWaitMillis,
            int maxQueued) {
        this.sender = sender;
        this.maxKeys = maxKeys;
        this.maxWaitMillis = maxWaitMillis;
        this.maxQueued = maxQueued;
    }

    public CompletableFuture<Reconciled> reconcile(List<String> keys) {
        CompletableFuture<Reconciled> answer = new CompletableFuture<>();
        Request r = new Request(keys, answer);
        List<Request> batch;
        CompletableFuture<Reconciled> answered;
        synchronized (this) {
            if (queue.size() >= maxQueued) {
                return CompletableFuture.failedFuture(ApiException.unavailable(
                        "too many reconciliations are waiting for the coordinator (" + maxQueued + "); retry"));
            }
            answer.orTimeout(maxWaitMillis, TimeUnit.MILLISECONDS);
            queue.add(r);
            answered = answered(r);
            if (inFlight) {
                return answered;
            }
            batch = drain();
            if (batch.isEmpty()) {
                return answered; // it timed out already (a wait of 0)
            }
            inFlight = true;
        }
        send(batch);
        return answered;
    }

    /**
     * {@code r}'s answer, or 503 once it has waited {@code maxWait}; one that times out leaves the queue
     * then (not sent, not counted against the cap).
     */
    private CompletableFuture<Reconciled> answered(Request r) {
        return r.answer().handle((a, e) -> {
            if (e == null) {
                return a;
            }
            Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (c instanceof TimeoutException) {
                synchronized (this) {
                    queue.remove(r);
                }
                throw ApiException.unavailable("the coordinator did not answer the reconciliation within " + maxWaitMillis
                        + " ms");
            }
            throw e instanceof CompletionException ce ? ce : new CompletionException(e);
        });
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
                next = drain();
                if (next.isEmpty()) {
                    inFlight = false;
                    return;
                }
            }
            send(next);
        });
    }

    private void sendAlone(Request r) {
        if (r.answer().isDone()) {
            return; // timed out meanwhile: answered 503 already
        }
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

    /** The queued requests that fit in one POST (none if every one waiting has timed out). Caller holds the lock. */
    private List<Request> drain() {
        List<Request> batch = new ArrayList<>();
        Set<String> keys = new LinkedHashSet<>();
        for (Iterator<Request> it = queue.iterator(); it.hasNext();) {
            Request r = it.next();
            if (r.answer().isDone()) {
                it.remove(); // waited too long in the queue: answered 503 already, not sent
                continue;
            }
            Set<String> union = new LinkedHashSet<>(keys);
            union.addAll(r.keys());
            if (!batch.isEmpty() && union.size() > maxKeys) {
                break;
            }
            keys = union;
            it.remove();
            batch.add(r);
        }
        if (!batch.isEmpty()) {
            posts++;
        }
        return batch;
    }

    /** POSTs sent so far. */
    public synchronized long posts() {
        return posts;
    }
}
