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

    @Test
    void theEstimatedBytesInFlightAreBoundedAndFinishingOrAbandoningOneMakesRoom() {
        SpeculationTable t = new SpeculationTable(100, 3_000, 10, 60_000);
        Speculation a = t.claim("a", 1_000).speculation();
        Speculation b = t.claim("b", 1_500).speculation();
        assertEquals(2_500, t.pendingBytes());
        assertNull(t.claim("c", 1_000), "3,500 bytes in flight would pass the 3,000 allowed");
        assertEquals(2_500, t.pendingBytes(), "a refused claim is not counted");
        assertEquals(2, t.pending());
        assertNotNull(t.claim("c", 500), "exactly the budget is allowed");
        a.finish(a.rolledBack("X", List.of(), "no"), System.currentTimeMillis());
        t.finished(a);
        assertEquals(2_000, t.pendingBytes());
        t.abandon(b);
        assertEquals(500, t.pendingBytes());
        assertTrue(t.claim("d", 2_500).created());
    }

    @Test
    void oneLargerThanTheWholeBudgetIsTakenOnlyWhenNothingElseIsInFlight() {
        SpeculationTable t = new SpeculationTable(100, 1_000, 10, 60_000);
        Speculation big = t.claim("big", 5_000).speculation();
        assertNotNull(big, "alone, it is taken: any transaction the limits allow can be speculated");
        assertNull(t.claim("small", 10));
        t.abandon(big);
        assertNotNull(t.claim("small", 10));
        assertNull(t.claim("big", 5_000), "not with another in flight");
    }

    @Test
    void aResumedSpeculationIsChargedOnceItsSizeIsKnownAndNotAfterItIsReleased() {
        SpeculationTable t = new SpeculationTable(100, 1_000, 10, 60_000);
        Speculation r = t.claim("r").speculation();
        assertEquals(0, t.pendingBytes());
        t.charge(r, 800);
        assertEquals(800, t.pendingBytes());
        assertNull(t.claim("x", 300), "the charge counts against the budget");
        t.charge(r, 5_000); // over the budget on its own
        assertNotNull(t.claim("resumed-too"), "a resumption is not refused by the bytes in flight");
        r.finish(r.committed(false), System.currentTimeMillis());
        t.finished(r);
        assertEquals(0, t.pendingBytes(), "resumed-too is not charged yet");
        t.charge(r, 800); // a late charge, after it finished
        assertEquals(0, t.pendingBytes());
    }
}
