package io.presage.coord;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.presage.certify.Certifier;
import io.presage.certify.CertifierConfig;
import io.presage.certify.CertifierLoop;
import io.presage.certify.ColdVersions;
import io.presage.certify.Hlc;
import io.presage.certify.TxnRequest;
import io.presage.log.BatchCodec;
import io.presage.log.JetStreamLog;
import io.presage.log.LogConfig;
import io.presage.log.LogMessage;
import io.presage.testing.NatsTestServer;

/**
 * Group commit's spacing of log messages ({@code presage.group-commit.min-interval} and
 * {@code min-interval-after}), against a real nats-server: the first commit after a quiet spell goes
 * out at once, commits that follow sooner than the interval wait for its end and share one message,
 * a message that is already full does not wait, one over a message's element bound is split into
 * messages that readers accept, and a client committing in sequence (each message
 * carrying one transaction) never waits. The intervals are long (seconds) so that each check is a bound the machine's speed cannot
 * blur: a commit that waited when it should not have takes longer than the interval itself.
 */
class GroupCommitSpacingTest {

    private static final long NO_WAIT_BOUND_MS = 5_000;

    private NatsTestServer server;
    private JetStreamLog log;
    private CertifierLoop loop;

    @BeforeEach
    void startServer() {
        server = NatsTestServer.start();
        log = JetStreamLog.connect(LogConfig.defaults(server.url()));
    }

    @AfterEach
    void stop() {
        if (loop != null) {
            loop.close();
        }
        log.close();
        server.close();
    }

    /** Spacing after every message, whatever it carried: the interval's own behaviour. */
    private void startGroupCommit(Duration minInterval, int maxBytes) {
        startGroupCommit(minInterval, 1, maxBytes);
    }

    private void startGroupCommit(Duration minInterval, int spacingAfterTxns, int maxBytes) {
        Certifier certifier = new Certifier(CertifierConfig.DEFAULT, new Hlc(), ColdVersions.NONE, true);
        GroupCommit gc = new GroupCommit(log, JetStreamLog.subjectFor(0), "coordinator", 1, maxBytes, 0, 4,
                minInterval.toNanos(), spacingAfterTxns, log.lastSequence(), new RecentWrites(), new GroupCommit.Events() {
                    @Override
                    public void resyncNeeded(String why) {
                        throw new AssertionError("unexpected resync: " + why);
                    }

                    @Override
                    public void published(int txns, int bytes, long delayNanos, long publishNanos) {
                    }
                });
        loop = new CertifierLoop(certifier, 1024, 1024, gc);
        gc.attach(loop);
    }

    private CompletableFuture<CommitOutcome> submit(String key, int valueBytes) {
        TxnSpec spec = TxnSpec.blind(key, ("\"" + "x".repeat(valueBytes) + "\"").getBytes(UTF_8), "coordinator");
        CompletableFuture<CommitOutcome> answer = new CompletableFuture<>();
        GroupCommit.Answer callback = answer::complete;
        assertTrue(loop.submit(new TxnRequest(new String[0], new long[0], new String[] {key}), spec, callback));
        return answer;
    }

    private static CommitOutcome.Committed committed(CompletableFuture<CommitOutcome> f) throws Exception {
        return assertInstanceOf(CommitOutcome.Committed.class, f.get(30, TimeUnit.SECONDS));
    }

    /** The first and the last log position of commits that must all be committed. */
    private static long[] committedSpan(List<CompletableFuture<CommitOutcome>> commits) throws Exception {
        long first = Long.MAX_VALUE;
        long last = 0;
        for (CompletableFuture<CommitOutcome> f : commits) {
            long s = committed(f).sequence();
            first = Math.min(first, s);
            last = Math.max(last, s);
        }
        return new long[] {first, last};
    }

    private static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }

    @Test
    void theFirstCommitAfterAQuietSpellGoesOutAtOnce() throws Exception {
        startGroupCommit(Duration.ofSeconds(20), 900_000);
        long start = System.nanoTime();
        CommitOutcome.Committed first = committed(submit("a", 1));
        assertTrue(millisSince(start) < NO_WAIT_BOUND_MS, "waited " + millisSince(start) + " ms for a 20 s interval");
        assertEquals(1, first.sequence());
    }

    @Test
    void commitsSoonerThanTheIntervalWaitForItsEndAndShareOneMessage() throws Exception {
        Duration interval = Duration.ofSeconds(5);
        startGroupCommit(interval, 900_000);
        long start = System.nanoTime(); // before the first message is published: the interval starts later
        CommitOutcome.Committed first = committed(submit("a", 1));
        List<CompletableFuture<CommitOutcome>> followers = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            followers.add(submit("k" + i, 1));
        }
        for (CompletableFuture<CommitOutcome> f : followers) {
            assertEquals(first.sequence() + 1, committed(f).sequence(), "all five followers are in the next message");
        }
        assertTrue(millisSince(start) >= interval.toMillis(),
                "the followers were answered " + millisSince(start) + " ms after the first was submitted, before the "
                        + interval.toMillis() + " ms interval since its message had passed");
    }

    @Test
    void pendingCommitsThatFillAMessageDoNotWaitForTheInterval() throws Exception {
        startGroupCommit(Duration.ofSeconds(20), 4_000);
        committed(submit("a", 1));
        long start = System.nanoTime();
        // ~1.1 kB each by group commit's estimate: three wait, the fourth makes a full message.
        List<CompletableFuture<CommitOutcome>> fill = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            fill.add(submit("k" + i, 1_000));
        }
        long[] span = committedSpan(fill);
        assertTrue(millisSince(start) < NO_WAIT_BOUND_MS,
                "a full message waited " + millisSince(start) + " ms for a 20 s interval");
        assertEquals(span[0] + 1, span[1], "4.4 kB of commits go out as two messages of at most 4 kB");
    }

    @Test
    void pendingCommitsOverAMessagesElementBoundGoOutAsSeveralMessagesThatReadersAccept() throws Exception {
        startGroupCommit(Duration.ofSeconds(20), 64 << 20); // bytes never split these: only elements can
        committed(submit("a", 1));
        // Three elements each (the transaction, its write, its clock entry): one more than a message holds.
        int count = BatchCodec.MAX_ELEMENTS / 3 + 1;
        List<CompletableFuture<CommitOutcome>> all = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            all.add(submitWaitingForRoom("k" + i));
        }
        long[] span = committedSpan(all);
        assertEquals(span[0] + 1, span[1], count + " commits of 3 elements go out as two messages");
        BatchCodec codec = new BatchCodec();
        int decoded = 0;
        for (LogMessage m : log.fetch(span[0], 2, Duration.ofSeconds(10))) {
            decoded += codec.decode(m.data()).txns().size(); // a reader refuses a message over the bound
        }
        assertEquals(count, decoded);
    }

    /** Submits a blind write of a 1-byte value, waiting while the loop's queue is full. */
    private CompletableFuture<CommitOutcome> submitWaitingForRoom(String key) {
        TxnSpec spec = TxnSpec.blind(key, "1".getBytes(UTF_8), "coordinator");
        CompletableFuture<CommitOutcome> answer = new CompletableFuture<>();
        GroupCommit.Answer callback = answer::complete;
        TxnRequest request = new TxnRequest(new String[0], new long[0], new String[] {key});
        while (!loop.submit(request, spec, callback)) {
            Thread.onSpinWait();
        }
        return answer;
    }

    @Test
    void aClientCommittingInSequenceNeverWaitsWhileItsMessagesCarryNoCompany() throws Exception {
        startGroupCommit(Duration.ofSeconds(20), 2, 900_000);
        long start = System.nanoTime();
        long sequence = 0;
        for (int i = 0; i < 5; i++) {
            CommitOutcome.Committed c = committed(submit("k" + i, 1));
            assertEquals(sequence + 1, c.sequence(), "one message per commit");
            sequence = c.sequence();
        }
        assertTrue(millisSince(start) < NO_WAIT_BOUND_MS,
                "five commits in sequence took " + millisSince(start) + " ms with a 20 s interval");
    }
}
