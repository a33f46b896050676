package io.presage.predict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

class PredictionPartsTest {

    @Test
    void aKeyPredictsNothingUntilEnoughTransitionsOutOfItWereSeen() {
        Successors s = new Successors(60_000, 4, 100, 3);
        s.observe("user:1", "orders:1", 0);
        s.observe("user:1", "orders:1", 0);
        assertEquals(List.of(), s.after("user:1", 0.5, 0), "two observations are not yet a habit");
        s.observe("user:1", "orders:1", 0);
        assertEquals(List.of(new Successors.Prediction("orders:1", 1.0)), s.after("user:1", 0.5, 0));
        assertEquals(List.of(), s.after("user:1", 0.5, 60_000), "a half-life later, the evidence is halved");
    }

    @Test
    void aNewHabitOutweighsAnOldOneAfterAFewHalfLives() {
        Successors s = new Successors(1_000, 4, 100, 0);
        for (int i = 0; i < 20; i++) {
            s.observe("a", "old", i);
        }
        long later = 10_000; // ten half-lives: the old habit counts about 20/1024
        for (int i = 0; i < 3; i++) {
            s.observe("a", "new", later + i);
        }
        assertEquals("new", s.after("a", 0.5, later + 3).get(0).key());
        assertTrue(s.probability("a", "old", later + 3) < 0.01);
    }

    @Test
    void aFullRowGivesTheLightestSlotToANewSuccessorWithoutCreditingIt() {
        Successors s = new Successors(60_000, 2, 100, 0);
        for (int i = 0; i < 5; i++) {
            s.observe("a", "x", 0);
        }
        s.observe("a", "y", 0);
        s.observe("a", "z", 0); // takes y's slot: y is gone, z has only its own observation
        assertEquals(5.0 / 7, s.probability("a", "x", 0), 1e-12);
        assertEquals(0.0, s.probability("a", "y", 0));
        assertEquals(1.0 / 7, s.probability("a", "z", 0), 1e-12);
    }

    @Test
    void theModelKeepsAtMostItsKeys() {
        Successors s = new Successors(60_000, 2, 64, 0);
        for (int i = 0; i < 1_000; i++) {
            s.observe("k" + i, "n", i);
        }
        assertTrue(s.keys() <= 64, s.keys() + " rows");
    }

    @Test
    void aFullTrailDropsIdleSessionsBeforeActiveOnes() {
        SessionTrail t = new SessionTrail(1_000, 64);
        for (int i = 0; i < 63; i++) {
            t.advance("idle" + i, "k", 0);
        }
        t.advance("active", "a", 5_000);
        t.advance("new", "x", 5_500); // full: the 63 idle sessions go, the active one stays
        assertEquals("a", t.advance("active", "b", 5_600).key());
        assertEquals(2, t.sessions());
    }

    @Test
    void aSessionsPreviousKeyCountsOnlyWithinTheGapAndNotForARepeat() {
        SessionTrail t = new SessionTrail(1_000, 100);
        assertNull(t.advance("s1", "a", 0));
        assertEquals(new SessionTrail.Step("a", 0), t.advance("s1", "b", 500));
        assertNull(t.advance("s2", "c", 600), "another session");
        assertNull(t.advance("s1", "b", 700), "the same key again is not a transition");
        assertNull(t.advance("s1", "c", 2_000), "too long after");
        assertEquals("c", t.advance("s1", "d", 2_100).key());
    }

    @Test
    void aPredictionIsDecidedByTheSameSessionsNextReadWithinTheHorizon() {
        PredictionScore l = new PredictionScore(1_000, 100);
        l.read("s", "user", false, 0);
        l.predicted("s", List.of("orders", "settings"), 0);
        l.read("other", "orders", false, 10); // another session's read of it decides nothing
        l.read("s", "orders", true, 20); // hit: one of the two predicted keys
        l.predicted("s", List.of("cart"), 20);
        l.read("s", "help", true, 40); // miss
        l.predicted("s", List.of("cart"), 40);
        l.read("s", "cart", true, 2_000); // too late: undecided
        assertEquals(4, l.predicted());
        assertEquals(3, l.decided());
        assertEquals(1, l.hits());
        assertEquals(1.0 / 3, l.precision(), 1e-12);
        assertEquals(1.0 / 3, l.recall(), 1e-12, "three reads followed another one of their session");
    }

    /**
     * The session trail and the score forget sessions independently: a read whose session the trail had
     * dropped does not follow anything, so it must not count as a hit either (recall passed 1).
     */
    @Test
    void aReadThatFollowsNothingDecidesNoPredictionAndRecallStaysAtMostOne() {
        PredictionScore l = new PredictionScore(1_000, 100);
        for (int i = 0; i < 10; i++) {
            l.predicted("s", List.of("b"), i * 10);
            l.read("s", "b", false, i * 10 + 5); // the trail had lost "s": follows nothing
        }
        assertEquals(0, l.hits());
        assertEquals(0, l.decided());
        assertTrue(Double.isNaN(l.recall()) || l.recall() <= 1.0);
        l.predicted("s", List.of("b"), 200);
        l.read("s", "b", true, 210);
        assertEquals(1.0, l.recall(), 1e-12);
        assertEquals(1.0, l.precision(), 1e-12);
    }
}
