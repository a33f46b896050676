package io.presage.coord;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Lookups of idempotency ids in the store, coalesced: at most one query is in flight, and every id
 * asked for meanwhile goes into the next one. Each commit under a new id must ask the store whether
 * the id committed before this process started; one query per commit made the store's round trip
 * and its per-statement work part of every such commit, in series on a small connection pool. Under
 * load the batches grow by themselves (the longer a query takes, the more ids wait for the next),
 * and an idle coordinator sends a lone id at once, so nothing waits on a timer.
 *
 * @param <R> what the store holds for an id
 */
public final class IdLookups<R> {

    /** One query for several ids: those found, with what the store holds for them. */
    @FunctionalInterface
    public interface Query<R> {
        CompletionStage<Map<String, R>> find(List<String> ids);
    }

    private record Request<R>(Collection<String> ids, CompletableFuture<Map<String, R>> answer) {
    }

    private final Query<R> query;
    /** Longest a query may take before it counts as failed; 0: no bound. */
    private final long timeoutMillis;
    private final Object lock = new Object();
    private List<Request<R>> waiting = new ArrayList<>();
    private boolean inFlight;
    private long queries;
    private long lookups;

    /** Lookups whose queries are waited for as long as they take. */
    public IdLookups(Query<R> query) {
        this(query, java.time.Duration.ZERO);
    }

    /**
     * Lookups whose queries count as failed after {@code timeout}: one that never ends (a database
     * frozen mid-query, its connection still open) would otherwise keep the one slot, and every later
     * lookup, that is every commit under a new id, would queue behind it for good.
     */
    public IdLookups(Query<R> query, java.time.Duration timeout) {
        this.query = query;
        this.timeoutMillis = timeout.toMillis();
    }

    /** Those of {@code ids} the store holds (a map, possibly empty), or the store's failure. */
    public CompletableFuture<Map<String, R>> find(Collection<String> ids) {
        CompletableFuture<Map<String, R>> answer = new CompletableFuture<>();
        List<Request<R>> send = null;
        synchronized (lock) {
            waiting.add(new Request<>(ids, answer));
            lookups++;
            if (!inFlight) {
                inFlight = true;
                send = takeWaiting();
            }
        }
        if (send != null) {
            send(send);
        }
        return answer;
    }

    /** Queries sent so far (for tests and metrics). */
    public long queries() {
        synchronized (lock) {
            return queries;
        }
    }

    /** Lookups asked for so far: {@link #find} calls, each answered by one of the queries. */
    public long lookups() {
        synchronized (lock) {
            return lookups;
        }
    }

    private List<Request<R>> takeWaiting() {
        List<Request<R>> batch = waiting;
        waiting = new ArrayList<>();
        queries++;
        return batch;
    }

    private void send(List<Request<R>> batch) {
        LinkedHashSet<String> ids = new LinkedHashSet<>();
        for (Request<R> r : batch) {
            ids.addAll(r.ids());
        }
        CompletionStage<Map<String, R>> found;
        try {
            found = query.find(List.copyOf(ids));
        } catch (RuntimeException e) {
            found = CompletableFuture.failedFuture(e);
        }
        if (timeoutMillis > 0) {
            found = found.toCompletableFuture().copy().orTimeout(timeoutMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
        }
        found.whenComplete((rows, failure) -> {
            List<Request<R>> next = null;
            synchronized (lock) {
                if (waiting.isEmpty()) {
                    inFlight = false;
                } else {
                    next = takeWaiting();
                }
            }
            if (next != null) {
                send(next); // before answering: the answers' continuations run on this thread
            }
            answer(batch, rows, failure);
        });
    }

    private static <R> void answer(List<Request<R>> batch, Map<String, R> rows, Throwable failure) {
        for (Request<R> r : batch) {
            if (failure != null) {
                r.answer().completeExceptionally(failure);
                continue;
            }
            Map<String, R> mine = new HashMap<>();
            for (String id : r.ids()) {
                R row = rows.get(id);
                if (row != null) {
                    mine.put(id, row);
                }
            }
            r.answer().complete(mine);
        }
    }
}
