package io.presage.coord;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.presage.certify.CertifierLoop;
import io.presage.certify.TxnRequest;
import io.presage.log.BatchCodec;
import io.presage.log.JetStreamLog;
import io.presage.log.LogConfig;
import io.presage.log.LogMessage;
import io.presage.log.LogTxn;
import io.presage.testing.NatsTestServer;

/**
 * Review: GroupCommit.settle answers a message's clients 504 (Unknown) BEFORE it posts failed() to the
 * loop thread, which is what sets `failing` (no more publishing) and takes the message out of
 * `inflight`. The engine forgets an id on Unknown (IdempotencyCache.claim), so a client's retry under
 * the same id that reaches the loop before failed() runs (the settle thread is still answering the
 * rest of a large batch, or is descheduled) is certified and published, chained to the message whose
 * outcome was unknown. If that message did land, both do: the id commits twice.
 *
 * <p>Here the retry is queued from the first answer's callback, i.e. before settle() posts failed():
 * the interleaving "retry reaches the loop before failed()" made deterministic.
 */
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
    private NatsTestServer server;
    private LateLandingAppendTest.HoldingProxy proxy;
    private JetStreamLog log;
    private CertifierLoop loop;
    private final List<String> resyncs = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() throws Exception {
        if (loop != null) {
            loop.close();
        }
        if (log != null) {
            log.close();
        }
        if (proxy != null) {
            proxy.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private CompletableFuture<CommitOutcome> submit(TxnSpec spec, TxnRequest req) {
        CompletableFuture<CommitOutcome> answer = new CompletableFuture<>();
        GroupCommit.Answer callback = answer::complete;
        loop.submit(req, spec, callback);
        return answer;
    }

    @Test
    void aRetryUnderTheSameIdAfterA504NeverCommitsASecondTime() throws Exception {
        server = NatsTestServer.start();
        proxy = new LateLandingAppendTest.HoldingProxy(server.port());
        log = JetStreamLog.connect(LogConfig.defaults(proxy.url()).withPublishTimeout(Duration.ofMillis(1_000)));
        long last = log.lastSequence();
        RecentWrites recent = new RecentWrites();
        recent.reset(last);
        loop = PipelineUnderTest.start(log, last, 0, recent, resyncs);

        TxnSpec x = new TxnSpec("X", List.of(), List.of(new TxnSpec.Write("k", "1".getBytes(UTF_8))), "c");
        TxnRequest xr = new TxnRequest(new String[0], new long[0], new String[] {"k"});
        CompletableFuture<CompletableFuture<CommitOutcome>> retried = new CompletableFuture<>();
        proxy.hold = true;
        CompletableFuture<CommitOutcome> first = submit(x, xr);
        // The client hears 504 and sends X again (the engine has forgotten the id: Unknown is not decided).
        first.thenRun(() -> retried.complete(submit(x, xr)));
        assertInstanceOf(CommitOutcome.Unknown.class, first.get(30, TimeUnit.SECONDS));
        Thread.sleep(200); // the retry is certified and published meanwhile (held by the proxy)
        proxy.release(); // the first append lands after all, then the retry's
        CommitOutcome retry = retried.get(30, TimeUnit.SECONDS).get(30, TimeUnit.SECONDS);
        Thread.sleep(500);

        long end = log.lastSequence();
        int commitsOfX = 0;
        for (LogMessage m : log.fetch(last + 1, (int) (end - last), Duration.ofSeconds(5))) {
            for (LogTxn t : new BatchCodec().decode(m.data()).txns()) {
                if ("X".equals(t.id())) {
                    commitsOfX++;
                }
            }
        }
        assertInstanceOf(CommitOutcome.Unavailable.class, retry, "refused until the rebuild");
        assertEquals(1, commitsOfX, "transaction id X is in the log " + commitsOfX + " times; the retry was told " + retry);
    }
}
