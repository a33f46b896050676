package io.presage.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import com.fasterxml.jackson.databind.node.IntNode;

import org.junit.jupiter.api.Test;

class IdempotencyCacheTest {
    private static final CommitOutcome COMMITTED = new CommitOutcome.Committed(1_000, false, 7);

    @Test
    void aProcedureResultIsKeptWhileItsIdIs() {
        IdempotencyCache c = new IdempotencyCache(2);
        c.remember("a#0", COMMITTED);
        c.rememberResult("a#0", IntNode.valueOf(16));
        assertEquals(IntNode.valueOf(16), c.result("a#0"));
        c.remember("b#0", COMMITTED);
        c.remember("c#0", COMMITTED); // evicts a#0, the oldest
        assertNull(c.get("a#0"));
        assertNull(c.result("a#0"), "no result outlives its id");
    }

    @Test
    void aResultForAnIdNotHeldIsNotKept() {
        IdempotencyCache c = new IdempotencyCache(2);
        c.rememberResult("gone#0", IntNode.valueOf(1));
        assertNull(c.result("gone#0"));
    }

    @Test
    void clearingForgetsResultsWithTheIds() {
        IdempotencyCache c = new IdempotencyCache(4);
        c.remember("a#0", COMMITTED);
        c.rememberResult("a#0", IntNode.valueOf(3));
        c.clear();
        assertNull(c.result("a#0"));
    }
}
