package io.presage.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

class IdempotencyCacheTest {
    private static final CommitOutcome COMMITTED = new CommitOutcome.Committed(1_000, false, 7);

    @Test
    void aProcedureResultIsKeptWhileItsIdIs() {
        IdempotencyCache c = new IdempotencyCache(2);
        c.remember("a#0", COMMITTED, "16");
        assertEquals("16", c.result("a#0"));
        c.remember("b#0", COMMITTED, null);
        c.remember("c#0", COMMITTED, null); // evicts a#0, the oldest
        assertNull(c.get("a#0"));
        assertNull(c.result("a#0"), "no result outlives its id");
    }

    @Test
    void theResultIsInPlaceBeforeTheCommitIsAnsweredAndGoesIfItDoesNotCommit() {
        IdempotencyCache c = new IdempotencyCache(4);
        CompletableFuture<CommitOutcome> first = new CompletableFuture<>();
        c.claim("x#0", first, "6");
        // A retry racing the first call finds the first's future, and once it commits, the first's result.
        assertEquals(first, c.claim("x#0", new CompletableFuture<>(), "7"));
        first.complete(COMMITTED);
        assertEquals("6", c.result("x#0"));

        CompletableFuture<CommitOutcome> lost = new CompletableFuture<>();
        c.claim("y#0", lost, "1");
        lost.complete(new CommitOutcome.Unavailable("log down"));
        assertNull(c.get("y#0"), "not decided: a retry may try again");
        assertNull(c.result("y#0"));
    }

    @Test
    void clearingForgetsResultsWithTheIds() {
        IdempotencyCache c = new IdempotencyCache(4);
        c.remember("a#0", COMMITTED, "3");
        c.clear();
        assertNull(c.result("a#0"));
    }
}
