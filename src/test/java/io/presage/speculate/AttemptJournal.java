package io.presage.speculate;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;

import io.presage.coord.TxnSpec;
import io.presage.proc.Procedure;

/**
 * The attempt log of the speculation driver's unit tests: what a mirror's store keeps, in memory, and
 * outlives a {@link Speculator} (a "restarted mirror" is a new Speculator given the same journal).
 */
final class AttemptJournal implements Speculator.AttemptLog {
    record Entry(int attempt, TxnSpec txn, JsonNode result) {
    }

    final Map<String, Entry> entries = new ConcurrentHashMap<>();
    /** The next this many records fail, as a store that is down does. */
    volatile int failures;

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

    /** Resumes {@code s} as a restarted mirror does, from what this journal recorded of it. */
    void resume(Speculator speculator, Speculation s, Procedure p, JsonNode args) {
        Entry e = entries.get(s.id());
        speculator.resume(s, p, args, e == null ? 0 : e.attempt(), e == null ? null : e.txn(), e == null ? null : e.result());
    }
}
