package io.presage.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.presage.log.LogTxn;

/**
 * A position made visible holds the writes of every message up to it. m1 (writing a) gets no ack in
 * time and its clients hear 504, but it lands; m2 (writing b), published while m1 was in flight and
 * chained to it, lands right after and is acknowledged. m2's ack proves m1 is at the position before
 * it (JetStream checked the last message id), so m1's writes go into memory before m2's position is
 * made visible. Before, reads and reconciliations there answered b new and a old, a state no log
 * position holds, until the applier or the rebuild put m1's writes in.
 */
class UnknownPredecessorVisibilityTest {

    @Test
    void aPositionMadeVisibleHoldsTheWritesOfEveryMessageUpToIt() throws Exception {
        try (HeldPipeline p = new HeldPipeline(0)) {
            p.proxy.hold = true;
            CompletableFuture<CommitOutcome> a = p.submitBlind("a", "1"); // m1
            Thread.sleep(500);
            CompletableFuture<CommitOutcome> b = p.submitBlind("b", "2"); // m2, chained to m1
            assertInstanceOf(CommitOutcome.Unknown.class, a.get(30, TimeUnit.SECONDS), "m1: no ack in time");
            p.proxy.release(); // m1 lands, then m2, within m2's own timeout
            CommitOutcome.Committed second = assertInstanceOf(CommitOutcome.Committed.class, b.get(30, TimeUnit.SECONDS));

            List<LogTxn> landed = p.landed();
            assertEquals("a", landed.get(0).writes().get(0).key(), "m1 is in the log first");
            long visible = p.recent.visible();
            assertEquals(second.sequence(), visible);
            assertNotNull(p.recent.at("b", visible), "m2's write is visible");
            assertNotNull(p.recent.at("a", visible),
                    "position " + visible + " is visible, but m1's write of a at " + (visible - 1) + " is not in memory");
            assertEquals(visible - 1, p.recent.at("a", visible).sequence());
        }
    }
}
