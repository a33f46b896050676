package io.presage.coord;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/**
 * A resend refused as fenced proves that the message never lands only when the stream is past the
 * position it expects. Two pipelined messages m1 and m2 go out and get no ack; m2's resend overtakes
 * m1's original and is refused (the stream is not yet at m2's expected position). Taken for proof,
 * m2's clients heard 503, "not committed, retry is safe"; then m1's original landed, and m2's right
 * after it, with its expectation now met: a transaction told 503 was in the log. Such a refusal now
 * leaves the outcome unknown (504, and a rebuild behind a barrier).
 *
 * <p>A proxy holds the log publishes back: first all of them, then only m1's (by its message id).
 */
class ResentPipelinedAppendTest {

    @Test
    void aResendFencedBecauseItsPredecessorHasNotLandedYetLeavesTheOutcomeUnknown() throws Exception {
        try (HeldPipeline p = new HeldPipeline(1)) { // one resend per message
            p.proxy.hold = true;
            CompletableFuture<CommitOutcome> a = p.submitBlind("a", "1");
            awaitTrue(() -> p.proxy.heldCount() >= 1, "m1 published and held");
            CompletableFuture<CommitOutcome> b = p.submitBlind("b", "2");
            awaitTrue(() -> p.proxy.heldCount() >= 2, "m1 and m2 both published (pipelined) and held");
            p.proxy.holdIf = frame -> frame.contains("Nats-Msg-Id:coordinator-1-1\r\n"); // from now on m1 only

            assertInstanceOf(CommitOutcome.Unknown.class, a.get(30, TimeUnit.SECONDS), "m1: no ack at all");
            CommitOutcome bOutcome = b.get(30, TimeUnit.SECONDS);
            p.proxy.release(); // the held originals reach the stream: m1, then m2
            List<String> landed = new ArrayList<>();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!landed.contains("b") && System.nanoTime() < deadline) {
                Thread.sleep(20);
                landed.clear();
                p.landed().forEach(t -> t.writes().forEach(w -> landed.add(w.key())));
            }
            assertTrue(landed.contains("b"), "the scenario: m2 landed after m1 (" + landed + ")");
            assertFalse(bOutcome instanceof CommitOutcome.Unavailable,
                    "b was answered " + bOutcome + " (a definite 'not committed'), yet it is in the log: " + landed);
            assertInstanceOf(CommitOutcome.Unknown.class, bOutcome);
        }
    }

    private static void awaitTrue(java.util.function.BooleanSupplier c, String what) throws InterruptedException {
        io.presage.testing.Await.until(c, what, 10, 5);
    }
}
