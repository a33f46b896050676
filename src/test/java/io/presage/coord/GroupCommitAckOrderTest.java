package io.presage.coord;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.presage.certify.CertifierLoop;
import io.presage.certify.TxnRequest;
import io.presage.log.JetStreamLog;
import io.presage.log.LogConfig;
import io.presage.testing.Await;
import io.presage.testing.NatsTestServer;

/**
 * Group commit settles its pipelined log messages in the order it published them, whatever order
 * their acks come back in, against a real nats-server made to answer out of order: frozen (SIGSTOP)
 * while two messages are in flight, and continued after the first has timed out and been resent but
 * before the second has, the server acks the second message's first attempt before the first
 * message's resend. Settling the second first would tell its clients COMMITTED, and make its log
 * position readable, while the first message's writes, which lie before it in the log, are not yet
 * in memory, and would release the first message's undo records while its outcome is still open.
 */
class GroupCommitAckOrderTest {

    private static final Duration PUBLISH_TIMEOUT = Duration.ofSeconds(2);

    private NatsTestServer server;
    private JetStreamLog log;
    private CertifierLoop loop;
    private final RecentWrites recent = new RecentWrites();
    private final List<String> resyncs = new CopyOnWriteArrayList<>();
    private final List<PipelineUnderTest.Sent> sent = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        server = NatsTestServer.start();
        log = JetStreamLog.connect(LogConfig.defaults(server.url()).withPublishTimeout(PUBLISH_TIMEOUT));
        // One retry of an append whose ack did not come in time.
        loop = PipelineUnderTest.start(log, log.lastSequence(), 1, recent, resyncs, 1024, sent);
    }

    @AfterEach
    void stop() {
        loop.close();
        log.close();
        server.close();
    }

    /** What a client saw when its answer came: the outcome, and whether the other key's write was readable. */
    private record Seen(CommitOutcome outcome, RecentWrites.Version other) {
    }

    private CompletableFuture<Seen> submit(String key, String other) {
        TxnSpec spec = TxnSpec.blind(key, "1".getBytes(UTF_8), "coordinator");
        CompletableFuture<Seen> seen = new CompletableFuture<>();
        GroupCommit.Answer callback = outcome -> seen.complete(new Seen(outcome, recent.get(other)));
        assertTrue(loop.submit(new TxnRequest(new String[0], new long[0], new String[] {key}), spec, callback));
        return seen;
    }

    @Test
    void aLaterMessageAckedBeforeAnEarlierOnesResendIsAnsweredOnlyAfterIt() throws Exception {
        Seen warm = submit("warm", "none").get(30, TimeUnit.SECONDS);
        assertInstanceOf(CommitOutcome.Committed.class, warm.outcome());
        sent.clear();

        server.pause();
        CompletableFuture<Seen> first = submit("a", "b");
        Await.until(() -> sent.size() == 1, "the first message sent", 30, 5);
        long t0 = System.nanoTime(); // its ack's deadline runs from about now
        sleepUntil(t0, 800);
        CompletableFuture<Seen> second = submit("b", "a");
        Await.until(() -> sent.size() == 2, "the second message sent", 30, 5);
        // The first append times out at about 2.0 s and is resent (queued on the frozen socket); the
        // second would time out at about 2.8 s. Continue the server in between: it stores and acks
        // the first message, then the second (an ack the client takes), then the resend (a duplicate).
        String firstId = sent.get(0).msgId();
        Await.until(() -> sent.contains(new PipelineUnderTest.Sent(firstId, 1, true)), "the first message resent", 30, 5);
        Seen early = first.getNow(null);
        assertNull(early, "the first was answered while the server was frozen (frozen now: " + server.frozen() + ")");
        List<PipelineUnderTest.Sent> beforeResume = List.copyOf(sent);
        server.resume();
        assumeTrue(beforeResume.size() == 3, "the machine stalled past the second message's ack deadline too, "
                + "so the server was not continued between the two resends: " + beforeResume);

        Seen a = first.get(30, TimeUnit.SECONDS);
        Seen b = second.get(30, TimeUnit.SECONDS);
        CommitOutcome.Committed ca = assertInstanceOf(CommitOutcome.Committed.class, a.outcome(), "first: " + a.outcome());
        CommitOutcome.Committed cb = assertInstanceOf(CommitOutcome.Committed.class, b.outcome(), "second: " + b.outcome());
        assertEquals(ca.sequence() + 1, cb.sequence(), "the two messages are consecutive in the log");
        assertNotNull(b.other(),
                "the second message's client was answered before the first message's write (at an earlier log position) "
                        + "was readable");
        assertTrue(resyncs.isEmpty(), "no resync: both messages are in the log as the certifier believes: " + resyncs);

        // The certifier is intact: later commits go on at the next positions.
        Seen after = submit("c", "a").get(30, TimeUnit.SECONDS);
        assertEquals(cb.sequence() + 1, assertInstanceOf(CommitOutcome.Committed.class, after.outcome()).sequence());
    }

    private static void sleepUntil(long t0, long millis) throws InterruptedException {
        long wait = millis - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        if (wait > 0) {
            Thread.sleep(wait);
        }
    }
}
