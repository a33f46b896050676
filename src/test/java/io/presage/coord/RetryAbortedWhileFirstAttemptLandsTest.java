package io.presage.coord;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.presage.certify.TxnRequest;
import io.presage.testing.Await;

/**
 * Review finding. A client told 504 (its append got no ack: "retry under the same id") retries at once.
 * Group commit has rolled the certifier back to before the unacknowledged message and marked itself
 * failing, so a retry that <em>commits</em> in certification is refused (503) at publish — but a retry
 * that <em>aborts</em> is answered ABORTED straight from the decision, although it was decided against
 * a state that lacks the first attempt and holds transactions that will themselves be rolled back. When
 * the first attempt lands after all, the same id is in the log as committed while its client was told
 * ABORTED: a definitive answer contradicting the log (a mirror records a speculation ROLLED_BACK for
 * good; SerializableHistoryIT's clients take ABORTED as final).
 *
 * <p>While a second message is in flight, the first's failure does not ask for the rebuild yet, so the
 * engine is still READY and admits the retry (its id was forgotten with the Unknown). Here the client
 * sends, from the 504's callback, another transaction Y and then its retry X'; both are certified in
 * one batch, Y first (committed in the certifier, to be rolled back at publish), and X' conflicts with Y.
 */
class RetryAbortedWhileFirstAttemptLandsTest {

    @Test
    void aRetryOfAnUnacknowledgedCommitIsNeverAnsweredAbortedWhenTheFirstAttemptLands() throws Exception {
        try (HeldPipeline p = new HeldPipeline(0)) {
            // X: read "a" (absent), write "k".
            TxnSpec x = new TxnSpec("X", List.of(new TxnSpec.Read("a", 0)),
                    List.of(new TxnSpec.Write("k", "1".getBytes(UTF_8))), "c");
            TxnRequest xr = new TxnRequest(new String[] {"a"}, new long[] {0}, new String[] {"k"});
            // Y: blind writes of "a" and "k" (any concurrent client's).
            TxnSpec y = new TxnSpec(null, List.of(), List.of(new TxnSpec.Write("a", "2".getBytes(UTF_8)),
                    new TxnSpec.Write("k", "2".getBytes(UTF_8))), "c");
            TxnRequest yr = new TxnRequest(new String[0], new long[0], new String[] {"a", "k"});

            CompletableFuture<CompletableFuture<CommitOutcome>> retried = new CompletableFuture<>();
            AtomicInteger resyncsWhenRetried = new AtomicInteger(-1);
            p.proxy.hold = true;
            CompletableFuture<CommitOutcome> first = p.submit(x, xr);
            // Once X's message is sent (and held), z goes in a second one, chained to it.
            Await.until(() -> p.sent.size() == 1, "X's message sent", 30, 5);
            CompletableFuture<CommitOutcome> other = p.submitBlind("z", "1"); // a second message in flight
            first.thenRun(() -> {
                resyncsWhenRetried.set(p.resyncs.size()); // none yet: the engine is still READY
                p.submit(y, yr);
                retried.complete(p.submit(x, xr));
            });
            assertInstanceOf(CommitOutcome.Unknown.class, first.get(30, TimeUnit.SECONDS));
            CommitOutcome retry = retried.get(30, TimeUnit.SECONDS).get(30, TimeUnit.SECONDS);
            assertInstanceOf(CommitOutcome.Unknown.class, other.get(30, TimeUnit.SECONDS), "z's message was in flight too");
            p.proxy.release(); // the first append lands after all
            Await.until(() -> commitsOf(p, "X") > 0, "X's first attempt landed", 30, 20);

            long commitsOfX = commitsOf(p, "X");
            assertEquals(0, resyncsWhenRetried.get(), "the rebuild had not been asked for when the retry came");
            assertEquals(1, commitsOfX, "the first attempt of X landed");
            assertFalse(retry instanceof CommitOutcome.Aborted,
                    "X is committed in the log, yet its retry under the same id was answered " + retry);
        }
    }

    private static long commitsOf(HeldPipeline p, String id) {
        try {
            return p.landed().stream().filter(t -> id.equals(t.id())).count();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
