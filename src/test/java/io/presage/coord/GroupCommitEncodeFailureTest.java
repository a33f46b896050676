package io.presage.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.presage.certify.CertifierLoop;
import io.presage.log.JetStreamLog;
import io.presage.log.LogConfig;
import io.presage.testing.NatsTestServer;

/**
 * A batch the log codec refuses (here a key with an unpaired surrogate, which the API never lets
 * through) is answered 503 with the certifier's state for it undone, like an append refused before it
 * was sent, and the pipeline goes on. An exception out of the encoder used to leave the transactions
 * certified and their clients waiting for good.
 */
class GroupCommitEncodeFailureTest {

    private NatsTestServer server;
    private JetStreamLog log;
    private CertifierLoop loop;
    private final List<String> resyncs = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        server = NatsTestServer.start();
        log = JetStreamLog.connect(LogConfig.defaults(server.url()));
        loop = PipelineUnderTest.start(log, log.lastSequence(), 0, new RecentWrites(), resyncs);
    }

    @AfterEach
    void stop() {
        loop.close();
        log.close();
        server.close();
    }

    private CompletableFuture<CommitOutcome> submit(String key) {
        return PipelineUnderTest.submitBlind(loop, key);
    }

    @Test
    void aBatchTheCodecRefusesIsAnswered503AndTheNextCommitGoesOn() throws Exception {
        CommitOutcome refused = submit("bad\uD800key").get(30, TimeUnit.SECONDS);
        assertInstanceOf(CommitOutcome.Unavailable.class, refused, "answered: " + refused);
        CommitOutcome.Committed next = assertInstanceOf(CommitOutcome.Committed.class, submit("good").get(30, TimeUnit.SECONDS));
        assertEquals(log.lastSequence(), next.sequence(), "the next commit is the log's only message");
        assertEquals(1, log.lastSequence());
        assertTrue(resyncs.isEmpty(), "nothing reached the log: no rebuild needed: " + resyncs);
    }
}
