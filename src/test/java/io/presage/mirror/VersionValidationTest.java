package io.presage.mirror;

import static io.presage.mirror.VersionValidation.Verdict.APPLY;
import static io.presage.mirror.VersionValidation.Verdict.APPLY_AND_ROLL_BACK_LOCAL;
import static io.presage.mirror.VersionValidation.Verdict.SKIP;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.presage.mirror.VersionValidation.Local;
import io.presage.mirror.VersionValidation.Order;

class VersionValidationTest {

    @Test
    void clocksCompareEntryWise() {
        assertEquals(Order.EQUAL, VersionValidation.compare(Map.of("c", 5L), Map.of("c", 5L)));
        assertEquals(Order.AFTER, VersionValidation.compare(Map.of("c", 6L), Map.of("c", 5L)));
        assertEquals(Order.AFTER, VersionValidation.compare(Map.of("c", 5L, "m1", 1L), Map.of("c", 5L)));
        assertEquals(Order.BEFORE, VersionValidation.compare(Map.of("c", 5L), Map.of("c", 5L, "m1", 1L)));
        assertEquals(Order.CONCURRENT, VersionValidation.compare(Map.of("c", 6L), Map.of("c", 5L, "m1", 1L)));
        assertEquals(Order.EQUAL, VersionValidation.compare(Map.of(), Map.of()));
    }

    @Test
    void anIncomingVersionThatIncludesTheLocalOneIsApplied() {
        assertEquals(APPLY, VersionValidation.decide(null, 10, Map.of("c", 10L)));
        assertEquals(APPLY, VersionValidation.decide(new Local(5, Map.of("c", 5L), false), 10, Map.of("c", 10L)));
    }

    @Test
    void anIncomingVersionTheLocalStateAlreadyIncludesIsSkipped() {
        assertEquals(SKIP, VersionValidation.decide(new Local(10, Map.of("c", 10L), false), 10, Map.of("c", 10L)),
                "a redelivery");
        assertEquals(SKIP, VersionValidation.decide(new Local(10, Map.of("c", 10L), false), 5, Map.of("c", 5L)),
                "an older version");
    }

    @Test
    void aCommittedVersionConcurrentWithALocalSpeculativeWriteWinsAndMarksItForRollback() {
        Local speculative = new Local(7, Map.of("c", 5L, "mirror1", 7L), true);
        assertEquals(APPLY_AND_ROLL_BACK_LOCAL, VersionValidation.decide(speculative, 8, Map.of("c", 8L)));
    }

    @Test
    void aCommittedVersionThatIncludesTheSpeculativeWriteConfirmsIt() {
        Local speculative = new Local(7, Map.of("c", 5L, "mirror1", 7L), true);
        assertEquals(APPLY, VersionValidation.decide(speculative, 9, Map.of("c", 9L, "mirror1", 7L)));
    }

    @Test
    void amongCommittedVersionsTheTimestampDecidesEvenIfClocksLookConcurrent() {
        Local committed = new Local(10, Map.of("c", 10L, "x", 3L), false);
        assertEquals(APPLY, VersionValidation.decide(committed, 12, Map.of("c", 12L)));
        assertEquals(SKIP, VersionValidation.decide(committed, 9, Map.of("c", 9L, "x", 4L)));
    }

    @Test
    void overruledSpeculativeWritesAreRecordedForTheSpeculationToActOn() {
        SpeculativeWrites w = new SpeculativeWrites();
        w.wrote("k", 7, Map.of("mirror1", 7L));
        w.overruled("k", 8, 42);
        assertEquals(1, w.rolledBack());
        assertEquals(new SpeculativeWrites.Rollback("k", 7, 8, 42), w.rollbacks().get(0));
        assertEquals(0, w.size());
    }

    @Test
    void theCommittedVersionOfALocalSpeculativeWriteConfirmsIt() {
        // The speculative write's own commit arrives: the same clock. Applied, so that the key's row
        // holds the committed version and is no longer speculative.
        Local speculative = new Local(7, Map.of("c", 5L, "mirror1", 7L), true);
        assertEquals(APPLY, VersionValidation.decide(speculative, 7, Map.of("c", 5L, "mirror1", 7L)));
    }

    @Test
    void aCommittedVersionTheLocalSpeculativeWriteAlreadyIncludesIsSkipped() {
        Local speculative = new Local(9, Map.of("c", 8L, "mirror1", 9L), true);
        assertEquals(SKIP, VersionValidation.decide(speculative, 8, Map.of("c", 8L)));
    }

    @Test
    void amongCommittedVersionsWithConcurrentLookingClocksAnEqualTimestampIsNotAppliedAgain() {
        Local committed = new Local(10, Map.of("c", 10L, "m1", 3L), false);
        assertEquals(SKIP, VersionValidation.decide(committed, 10, Map.of("c", 10L, "m2", 4L)));
        assertEquals(APPLY, VersionValidation.decide(committed, 11, Map.of("c", 9L, "m2", 4L)),
                "a later timestamp wins even with a smaller coordinator entry");
    }
}
