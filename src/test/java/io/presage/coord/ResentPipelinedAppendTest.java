package io.presage.coord;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
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
import io.presage.testing.NatsTestServer;

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

    private CompletableFuture<CommitOutcome> submitBlind(String key, String value) {
        CompletableFuture<CommitOutcome> answer = new CompletableFuture<>();
        GroupCommit.Answer callback = answer::complete;
        assertTrue(loop.submit(new TxnRequest(new String[0], new long[0], new String[] {key}),
                TxnSpec.blind(key, value.getBytes(UTF_8), "c"), callback));
        return answer;
    }

    @Test
    void aResendFencedBecauseItsPredecessorHasNotLandedYetLeavesTheOutcomeUnknown() throws Exception {
        server = NatsTestServer.start();
        proxy = new LateLandingAppendTest.HoldingProxy(server.port());
        log = JetStreamLog.connect(LogConfig.defaults(proxy.url()).withPublishTimeout(Duration.ofMillis(1_000)));
        long last = log.lastSequence();
        loop = PipelineUnderTest.start(log, last, 1, new RecentWrites(), resyncs); // one resend per message

        proxy.hold = true;
        CompletableFuture<CommitOutcome> a = submitBlind("a", "1");
        Thread.sleep(50);
        CompletableFuture<CommitOutcome> b = submitBlind("b", "2");
        Thread.sleep(200);
        assertEquals(2, proxy.heldCount(), "m1 and m2 both published (pipelined) and held");
        proxy.holdIf = frame -> frame.contains("Nats-Msg-Id:coordinator-1-1\r\n"); // from now on m1 only

        assertInstanceOf(CommitOutcome.Unknown.class, a.get(30, TimeUnit.SECONDS), "m1: no ack at all");
        CommitOutcome bOutcome = b.get(30, TimeUnit.SECONDS);
        proxy.release(); // the held originals reach the stream: m1, then m2
        Thread.sleep(500);

        List<String> landed = new ArrayList<>();
        for (LogMessage m : log.fetch(last + 1, 10, Duration.ofSeconds(2))) {
            new BatchCodec().decode(m.data()).txns().forEach(t -> t.writes().forEach(w -> landed.add(w.key())));
        }
        assertTrue(landed.contains("b"), "the scenario: m2 landed after m1 (" + landed + ")");
        assertFalse(bOutcome instanceof CommitOutcome.Unavailable,
                "b was answered " + bOutcome + " (a definite 'not committed'), yet it is in the log: " + landed);
        assertInstanceOf(CommitOutcome.Unknown.class, bOutcome);
    }
}
