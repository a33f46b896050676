package io.presage.speculate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class SpeculationTableTest {

    @Test
    void anIdClaimedAgainGivesTheSpeculationAlreadyKnown() {
        SpeculationTable t = new SpeculationTable(10, 10, 60_000);
        SpeculationTable.Claim first = t.claim("x");
        SpeculationTable.Claim again = t.claim("x");
        assertTrue(first.created());
        assertFalse(again.created());
        assertSame(first.speculation(), again.speculation());
        assertEquals(1, t.pending());
    }

    @Test
    void noMoreThanMaxPendingAreInFlightAndFinishingOneMakesRoom() {
        SpeculationTable t = new SpeculationTable(2, 10, 60_000);
        Speculation a = t.claim("a").speculation();
        assertNotNull(t.claim("b"));
        assertNull(t.claim("c"), "a third one in flight is refused");
        assertNotNull(t.claim("a"), "a known id is still answered");
        a.finish(a.rolledBack("X", List.of(), "no"), System.currentTimeMillis());
        t.finished(a);
        assertNotNull(t.claim("c"));
        assertEquals(2, t.pending());
    }

    @Test
    void anAbandonedClaimIsForgottenAndItsIdCanStartAgain() {
        SpeculationTable t = new SpeculationTable(1, 10, 60_000);
        Speculation a = t.claim("a").speculation();
        t.abandon(a);
        assertNull(t.get("a"));
        assertEquals(0, t.pending());
        assertTrue(t.claim("a").created());
    }

    @Test
    void finishedOnesAreKeptUpToTheLimitOldestForgottenFirst() {
        SpeculationTable t = new SpeculationTable(100, 2, 60_000);
        for (String id : List.of("a", "b", "c")) {
            Speculation s = t.claim(id).speculation();
            s.finish(s.committed(false), System.currentTimeMillis());
            t.finished(s);
        }
        assertNull(t.get("a"));
        assertNotNull(t.get("b"));
        assertNotNull(t.get("c"));
        assertEquals(0, t.pending());
    }

    @Test
    void finishedOnesAreForgottenAfterTheRetention() throws Exception {
        SpeculationTable t = new SpeculationTable(100, 100, 1);
        Speculation old = t.claim("old").speculation();
        old.finish(old.committed(false), System.currentTimeMillis());
        t.finished(old);
        Thread.sleep(5);
        Speculation next = t.claim("next").speculation();
        next.finish(next.committed(false), System.currentTimeMillis());
        t.finished(next);
        assertNull(t.get("old"));
        assertNotNull(t.get("next"));
    }
}
