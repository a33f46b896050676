package io.presage.coord;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.presage.certify.TxnRequest;

/**
 * A client told 504 (an append without an ack) retries under the same id at once. The id is no longer
 * held (an unknown outcome is not decided), so the retry is certified; had it been certified before
 * group commit marked itself failing, it was published chained behind the unacknowledged message, and
 * when that one landed after all, the retry landed behind it: the same id committed twice. Group commit
 * now marks itself failing on the loop thread before it answers, so the retry is refused (503) until
 * the rebuild, whose replay finds the first append if it landed.
 *
 * <p>The retry is sent from the first answer's callback, so that it reaches the loop as early as any
 * client's could; a proxy holds the log's publishes back and lets them through later.
 */
class UnknownOutcomeRetryTest {

    @Test
    void aRetryUnderTheSameIdAfterA504NeverCommitsASecondTime() throws Exception {
        try (HeldPipeline p = new HeldPipeline(0)) {
            TxnSpec x = new TxnSpec("X", List.of(), List.of(new TxnSpec.Write("k", "1".getBytes(UTF_8))), "c");
            TxnRequest xr = new TxnRequest(new String[0], new long[0], new String[] {"k"});
            CompletableFuture<CompletableFuture<CommitOutcome>> retried = new CompletableFuture<>();
            p.proxy.hold = true;
            CompletableFuture<CommitOutcome> first = p.submit(x, xr);
            // The client hears 504 and sends X again (the engine has forgotten the id: Unknown is not decided).
            first.thenRun(() -> retried.complete(p.submit(x, xr)));
            assertInstanceOf(CommitOutcome.Unknown.class, first.get(30, TimeUnit.SECONDS));
            Thread.sleep(200); // were the retry certified, it would be published meanwhile (and held)
            p.proxy.release(); // the first append lands after all, then the retry's if there is one
            CommitOutcome retry = retried.get(30, TimeUnit.SECONDS).get(30, TimeUnit.SECONDS);
            Thread.sleep(500);

            long commitsOfX = p.landed().stream().filter(t -> "X".equals(t.id())).count();
            assertInstanceOf(CommitOutcome.Unavailable.class, retry, "refused until the rebuild");
            assertEquals(1, commitsOfX, "transaction id X is in the log " + commitsOfX + " times; the retry was told " + retry);
        }
    }
}
