package io.presage.speculate;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;

import io.presage.coord.TxnSpec;
import io.presage.proc.Procedure;

/**
 * The journal of the speculation driver's unit tests: what a mirror's store keeps, in memory, and
 * outlives a {@link Speculator} (a "restarted mirror" is a new Speculator given the same journal).
 */
final class AttemptJournal implements Speculator.Journal {
    record Entry(int attempt, TxnSpec txn, JsonNode result) {
    }

    final Map<String, Entry> entries = new ConcurrentHashMap<>();
    /** Recorded outcomes, by speculation id. */
    final Map<String, Speculation.View> outcomes = new ConcurrentHashMap<>();
    /** The result each speculation's 202 answered, as the mirror records it with the speculation (MirrorApi). */
    final Map<String, JsonNode> speculated = new ConcurrentHashMap<>();
    /** The next this many records of attempts fail, as a store that is down does. */
    volatile int failures;
    /** The next this many records of outcomes fail. */
    volatile int outcomeFailures;
    /** While set, outcomes are recorded only when it completes (a slow store); a failure fails them. */
    volatile CompletableFuture<Void> outcomeStore;

    @Override
    public CompletableFuture<?> attempting(String speculationId, int n, TxnSpec txn, JsonNode result) {
        synchronized (this) {
            if (failures > 0) {
                failures--;
                return CompletableFuture.failedFuture(new IllegalStateException("the store is down"));
            }
        }
        entries.put(speculationId, new Entry(n, txn, result));
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public CompletableFuture<?> decided(Speculation.View outcome, long recordedMillis) {
        synchronized (this) {
            if (outcomeFailures > 0) {
                outcomeFailures--;
                return CompletableFuture.failedFuture(new IllegalStateException("the store is down"));
            }
        }
        CompletableFuture<Void> store = outcomeStore;
        return (store == null ? CompletableFuture.<Void>completedFuture(null) : store)
                .thenRun(() -> outcomes.put(outcome.id(), outcome));
    }

    /** Resumes {@code s} as a restarted mirror does, from what this journal recorded of it. */
    void resume(Speculator speculator, Speculation s, Procedure p, JsonNode args) {
        Entry e = entries.get(s.id());
        speculator.resume(s, p, args, e == null ? 0 : e.attempt(), e == null ? null : e.txn(), e == null ? null : e.result(),
                speculated.get(s.id()));
    }
}
