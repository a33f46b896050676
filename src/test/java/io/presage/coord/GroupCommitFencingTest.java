package io.presage.coord;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.presage.certify.CertifierLoop;
import io.presage.log.Appended;
import io.presage.log.JetStreamLog;
import io.presage.log.LogConfig;
import io.presage.testing.Await;
import io.presage.testing.NatsTestServer;

/**
 * Fencing of a pipeline, against a real nats-server: a coordinator that has several messages in flight
 * when another writer's message takes the slot its first one expected (a coordinator that lost its
 * lease, still appending, or a new one that took over) has every one of them refused. With expected
 * sequences alone, the first was refused and the second, expecting the slot after it, matched the
 * stream's new end and was stored: certified without the other writer's commit, and answered COMMITTED.
 */
class GroupCommitFencingTest {

    private NatsTestServer server;
    private JetStreamLog log;
    private JetStreamLog other;
    private CertifierLoop loop;
    private final List<String> resyncs = new CopyOnWriteArrayList<>();
    private final List<PipelineUnderTest.Sent> sent = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        server = NatsTestServer.start();
        log = JetStreamLog.connect(LogConfig.defaults(server.url()).withPublishTimeout(Duration.ofSeconds(10)));
        other = JetStreamLog.connect(LogConfig.defaults(server.url()).withPublishTimeout(Duration.ofSeconds(10)));
    }

    @AfterEach
    void stop() {
        if (loop != null) {
            loop.close();
        }
        other.close();
        log.close();
        server.close();
    }

    private void startGroupCommit(long lastSequence) {
        loop = PipelineUnderTest.start(log, lastSequence, 0, new RecentWrites(), resyncs, 1024, sent);
    }

    private CompletableFuture<CommitOutcome> submit(String key) {
        return PipelineUnderTest.submitBlind(loop, key);
    }

    @Test
    void whenAnotherWritersMessageTakesTheFirstSlotEveryMessageOfThePipelineIsRefused() throws Exception {
        long last = log.lastSequence();
        startGroupCommit(last); // this coordinator believes the log ends at `last`
        Appended foreign = other.append(JetStreamLog.subjectFor(0), "other writer".getBytes(UTF_8), "other-1", last)
                .get(10, TimeUnit.SECONDS);
        assertEquals(last + 1, foreign.sequence());

        // Two messages in flight before the server answers either: the first expects `last`, the second `last + 1`.
        // The second is submitted once the first has been sent, so that it cannot share its message.
        server.pause();
        CompletableFuture<CommitOutcome> first = submit("a");
        Await.until(() -> sent.size() == 1, "the first message sent", 30, 5);
        CompletableFuture<CommitOutcome> second = submit("b");
        Await.until(() -> sent.size() == 2, "the second message sent", 30, 5);
        server.resume();
        assertEquals(List.of(1, 1), sent.stream().map(PipelineUnderTest.Sent::txns).toList(), "one transaction each: " + sent);

        assertInstanceOf(CommitOutcome.Unavailable.class, first.get(30, TimeUnit.SECONDS), "the first is fenced");
        CommitOutcome o = second.get(30, TimeUnit.SECONDS);
        assertFalse(o instanceof CommitOutcome.Committed, "the second was stored after the other writer's message: " + o);
        assertEquals(last + 1, log.lastSequence(), "nothing of this coordinator's is in the log");
        Await.until(() -> !resyncs.isEmpty(), "a rebuild from the log asked for", 30, 20);
    }

    @Test
    void aCommitAfterAServerRestartBeyondTheDuplicateWindowIsNotRefused() throws Exception {
        // The server keeps the stream's last message id across a restart only within the duplicate
        // window; a message chained to a settled predecessor's id would be refused after it.
        log.close();
        try (io.nats.client.Connection nc = io.nats.client.Nats.connect(server.url())) {
            nc.jetStreamManagement().deleteStream(LogConfig.defaults(server.url()).streamName()); // made again, below
        }
        log = JetStreamLog.connect(LogConfig.defaults(server.url()).withPublishTimeout(Duration.ofSeconds(10))
                .withDuplicateWindow(Duration.ofSeconds(1)));
        loop = PipelineUnderTest.start(log, log.lastSequence(), 0, new RecentWrites(), resyncs);
        assertInstanceOf(CommitOutcome.Committed.class, submit("before").get(30, TimeUnit.SECONDS));
        Thread.sleep(2_000); // past the window
        server.restart();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) { // until the log has its connection back
            try {
                log.lastSequence();
                break;
            } catch (RuntimeException e) {
                assertTrue(System.nanoTime() < deadline, "the log did not reconnect: " + e);
                Thread.sleep(100);
            }
        }
        CommitOutcome after = submit("after").get(30, TimeUnit.SECONDS);
        assertInstanceOf(CommitOutcome.Committed.class, after, "refused after the restart: " + after);
    }

    @Test
    void anAckForAnOlderMessageWithTheSameIdIsNotACommit() throws Exception {
        // A message id reused within the duplicate window (a clock stepped back, two nodes with one
        // node id): JetStream acks the new message as a duplicate of the old one and stores nothing.
        long last = log.lastSequence();
        Appended old = other.append(JetStreamLog.subjectFor(0), "an older message".getBytes(UTF_8), "coordinator-1-1", last)
                .get(10, TimeUnit.SECONDS);
        startGroupCommit(old.sequence()); // its first message's id is coordinator-1-1 too
        CommitOutcome o = submit("c").get(30, TimeUnit.SECONDS);
        assertFalse(o instanceof CommitOutcome.Committed, "answered COMMITTED at another message's sequence: " + o);
        assertEquals(old.sequence(), log.lastSequence(), "nothing was stored");
    }
}
