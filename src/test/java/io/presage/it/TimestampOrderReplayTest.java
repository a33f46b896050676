package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.presage.it.TimestampOrderReplay.Committed;
import io.presage.it.TimestampOrderReplay.Observed;
import io.presage.it.TimestampOrderReplay.Read;
import io.presage.it.TimestampOrderReplay.Versioned;

/** The oracle of {@code SerializableHistoryIT}, on small histories whose answer is known by hand. */
class TimestampOrderReplayTest {

    private static final Committed LOAD_A = new Committed("load-a", 100, List.of(), Map.of("a", "0"));
    private static final Committed LOAD_B = new Committed("load-b", 200, List.of(), Map.of("b", "0"));

    @Test
    void anAdjustedCommitWhoseReadsHoldAtItsTimestampIsSerializable() {
        // z read a@100 and wrote a at 280; y read a@100 too, but was certified after z, its read already
        // stale: it was placed at 250, before z, writing b, which nothing between 200 and 250 read.
        Committed z = new Committed("z", 280, List.of(new Read("a", 100)), Map.of("a", "1"));
        Committed y = new Committed("y", 250, List.of(new Read("a", 100), new Read("b", 200)), Map.of("b", "2"));
        List<String> v = TimestampOrderReplay.violations(List.of(LOAD_A, LOAD_B, z, y),
                List.of(new Observed("a", 100, "0"), new Observed("a", 280, "1"), new Observed("b", 250, "2")),
                Map.of("a", new Versioned(280, "1"), "b", new Versioned(250, "2")), 10);
        assertEquals(List.of(), v);
    }

    @Test
    void aWritePlacedBetweenAReadVersionAndTheReadersTimestampIsAViolation() {
        // y writes a at 250, but x, at 300, claims a@100: in timestamp order x would have seen a@250.
        Committed x = new Committed("x", 300, List.of(new Read("a", 100)), Map.of("b", "1"));
        Committed y = new Committed("y", 250, List.of(), Map.of("a", "2"));
        List<String> v = TimestampOrderReplay.violations(List.of(LOAD_A, LOAD_B, x, y), List.of(),
                Map.of("a", new Versioned(250, "2"), "b", new Versioned(300, "1")), 10);
        assertEquals(1, v.size(), v.toString());
        assertTrue(v.get(0).startsWith("x committed at 300 having read a@100"), v.get(0));
    }

    @Test
    void oneTimestampForTwoCommitsIsAViolation() {
        Committed x = new Committed("x", 300, List.of(), Map.of("a", "1"));
        Committed y = new Committed("y", 300, List.of(), Map.of("b", "2"));
        List<String> v = TimestampOrderReplay.violations(List.of(LOAD_A, LOAD_B, x, y), List.of(),
                Map.of("a", new Versioned(300, "1"), "b", new Versioned(300, "2")), 10);
        assertEquals(List.of("timestamp 300 given to both x and y"), v);
    }

    @Test
    void aReadOfAVersionNoCommitWroteOrOfAnotherValueIsAViolation() {
        List<String> v = TimestampOrderReplay.violations(List.of(LOAD_A), List.of(new Observed("a", 150, "9"),
                new Observed("a", 100, "9")), Map.of("a", new Versioned(100, "0")), 10);
        assertEquals(2, v.size(), v.toString());
        assertTrue(v.get(0).contains("version 150, which no committed transaction wrote"), v.get(0));
        assertTrue(v.get(1).contains("a@100 returned 9, but 0 was written there"), v.get(1));
    }

    @Test
    void aFinalStateOtherThanTheReplaysIsAViolation() {
        Committed x = new Committed("x", 300, List.of(new Read("a", 100)), Map.of("a", "1"));
        List<String> lostWrite = TimestampOrderReplay.violations(List.of(LOAD_A, x), List.of(),
                Map.of("a", new Versioned(100, "0")), 10);
        assertEquals(1, lostWrite.size(), lostWrite.toString());
        List<String> missingKey = TimestampOrderReplay.violations(List.of(LOAD_A, x), List.of(), Map.of(), 10);
        assertEquals(1, missingKey.size(), missingKey.toString());
    }
}
