package io.presage.coord;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.presage.certify.CertifierLoop;
import io.presage.certify.TxnRequest;
import io.presage.log.JetStreamLog;
import io.presage.log.LogConfig;
import io.presage.testing.NatsTestServer;

/**
 * With the log disconnected an append fails at once, on the loop thread; settling it posts to the
 * loop's queue. With that queue full of submissions (clients keep sending during the outage), the loop
 * waited for room that only it could make: the coordinator stopped answering for good. Every
 * transaction the loop took must be answered, and the loop must go on answering.
 */
class GroupCommitFullQueueTest {

    @Test
    @Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a stuck loop cannot even be closed
    void aFullQueueDuringALogOutageDoesNotStopTheLoop() throws Exception {
        NatsTestServer server = NatsTestServer.start();
        JetStreamLog log = JetStreamLog.connect(LogConfig.defaults(server.url()).withPublishTimeout(Duration.ofSeconds(2)));
        List<String> resyncs = new CopyOnWriteArrayList<>();
        CertifierLoop loop = PipelineUnderTest.start(log, log.lastSequence(), 0, new RecentWrites(), resyncs, 8);
        List<Thread> clients = new ArrayList<>();
        try {
            server.stop();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (log.isConnected()) {
                assertTrue(System.nanoTime() < deadline, "the client notices the server is gone");
                Thread.sleep(20);
            }
            List<CompletableFuture<CommitOutcome>> taken = new CopyOnWriteArrayList<>();
            AtomicBoolean sending = new AtomicBoolean(true);
            for (int c = 0; c < 4; c++) {
                int client = c;
                Thread t = new Thread(() -> {
                    for (int i = 0; sending.get(); i++) {
                        CompletableFuture<CommitOutcome> f = submit(loop, "k" + client + "-" + i);
                        if (f != null) {
                            taken.add(f);
                        }
                    }
                });
                t.start();
                clients.add(t);
            }
            Thread.sleep(1_000);
            sending.set(false);
            for (Thread t : clients) {
                t.join();
            }
            assertTrue(taken.size() > 8, "the loop took more than a queue's worth: " + taken.size());
            for (CompletableFuture<CommitOutcome> f : taken) {
                assertInstanceOf(CommitOutcome.Unavailable.class, f.get(10, TimeUnit.SECONDS), "answered, 503");
            }

            // The loop still runs: a new transaction is answered (503 until the coordinator rebuilds,
            // which the pipeline asked for), not left waiting behind a stuck loop thread.
            CompletableFuture<CommitOutcome> later = submit(loop, "later");
            assertTrue(later != null, "the queue has room again");
            assertInstanceOf(CommitOutcome.Unavailable.class, later.get(10, TimeUnit.SECONDS));
            assertFalse(resyncs.isEmpty(), "a rebuild was asked for");
        } finally {
            loop.close();
            log.close();
            server.close();
        }
    }

    /** The transaction's answer, or null when the queue was full (the engine answers that 503 itself). */
    private static CompletableFuture<CommitOutcome> submit(CertifierLoop loop, String key) {
        CompletableFuture<CommitOutcome> answer = new CompletableFuture<>();
        GroupCommit.Answer callback = answer::complete;
        boolean queued = loop.submit(new TxnRequest(new String[0], new long[0], new String[] {key}),
                TxnSpec.blind(key, "1".getBytes(UTF_8), "coordinator"), callback);
        return queued ? answer : null;
    }
}
