package io.presage.coord;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import io.presage.certify.Certifier;
import io.presage.certify.CertifierConfig;
import io.presage.certify.CertifierLoop;
import io.presage.certify.ColdVersions;
import io.presage.certify.Hlc;
import io.presage.certify.TxnRequest;
import io.presage.log.JetStreamLog;

/**
 * A certifier loop with group commit over a real log, as the coordinator runs it, for the tests of
 * the pipeline: no spacing between messages, up to four in flight, resyncs collected in a list, and
 * optionally every send of a message, so that a test waits for what it needs in flight.
 */
final class PipelineUnderTest {
    private PipelineUnderTest() {
    }

    /** One attempt to append a message ({@link GroupCommit.Events#sending}). */
    record Sent(String msgId, int txns, boolean resend) {
    }

    static CertifierLoop start(JetStreamLog log, long lastSequence, int retries, RecentWrites recent, List<String> resyncs) {
        return start(log, lastSequence, retries, recent, resyncs, 1024, new CopyOnWriteArrayList<>());
    }

    static CertifierLoop start(JetStreamLog log, long lastSequence, int retries, RecentWrites recent, List<String> resyncs,
            int queueCapacity) {
        return start(log, lastSequence, retries, recent, resyncs, queueCapacity, new CopyOnWriteArrayList<>());
    }

    /** {@code sent}: a thread-safe list that each attempt to append a message is added to. */
    static CertifierLoop start(JetStreamLog log, long lastSequence, int retries, RecentWrites recent, List<String> resyncs,
            int queueCapacity, List<Sent> sent) {
        Certifier certifier = new Certifier(CertifierConfig.DEFAULT, new Hlc(), ColdVersions.NONE, true);
        GroupCommit gc = new GroupCommit(log, JetStreamLog.subjectFor(0), "coordinator", 1, 900_000, retries, 4, 0, 1,
                lastSequence, recent, new GroupCommit.Events() {
                    @Override
                    public void resyncNeeded(String why) {
                        resyncs.add(why);
                    }

                    @Override
                    public void published(int txns, int bytes, long delayNanos, long publishNanos) {
                    }

                    @Override
                    public void sending(String msgId, int txns, boolean resend) {
                        sent.add(new Sent(msgId, txns, resend));
                    }
                });
        CertifierLoop loop = new CertifierLoop(certifier, queueCapacity, 1024, gc);
        gc.attach(loop);
        return loop;
    }

    /** Submits a blind write of "1" to {@code key}, as the coordinator's own; asserts the loop took it. */
    static CompletableFuture<CommitOutcome> submitBlind(CertifierLoop loop, String key) {
        TxnSpec spec = TxnSpec.blind(key, "1".getBytes(UTF_8), "coordinator");
        CompletableFuture<CommitOutcome> answer = new CompletableFuture<>();
        GroupCommit.Answer callback = answer::complete;
        assertTrue(loop.submit(new TxnRequest(new String[0], new long[0], new String[] {key}), spec, callback));
        return answer;
    }
}
