package io.presage.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class MirrorLagTest {

    @Test
    void noLagWhenEverythingInTheStreamIsApplied() {
        assertEquals(0, MirrorNode.lagSeconds(100, 100, 5_000, 9_000, 60_000), 1e-9);
    }

    @Test
    void theLagRunsFromTheOldestUnappliedMessagesCommit() {
        assertEquals(50.0, MirrorNode.lagSeconds(100, 90, 10_000, 9_000, 60_000), 1e-9);
    }

    @Test
    void onceThatMessageIsAppliedTheLastAppliedCommitBoundsItUntilTheNextRefresh() {
        assertEquals(30.0, MirrorNode.lagSeconds(100, 95, 10_000, 30_000, 60_000), 1e-9);
    }

    @Test
    void aMirrorJustStartedFarBehindIsNotTakenForCurrent() {
        // The first refresh ran before the applier had read its position (0): it took message 1's commit
        // time, an hour ago. The applier then read 5,000 from the store and has applied nothing since.
        assertEquals(3_600.0, MirrorNode.lagSeconds(9_000, 5_000, 1_000, 0, 3_601_000), 1e-9);
    }
}
