package io.presage.coord;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

import io.presage.certify.CertifierLoop;
import io.presage.certify.TxnRequest;
import io.presage.log.BatchCodec;
import io.presage.log.JetStreamLog;
import io.presage.log.LogConfig;
import io.presage.log.LogMessage;
import io.presage.log.LogTxn;
import io.presage.testing.NatsTestServer;

/**
 * The commit pipeline ({@link PipelineUnderTest}) over a real nats-server reached through a
 * {@link LateLandingAppendTest.HoldingProxy}, so that a test can hold the log's publishes back and let
 * them through later. A publish times out after 1 s.
 */
final class HeldPipeline implements AutoCloseable {
    final NatsTestServer server;
    final LateLandingAppendTest.HoldingProxy proxy;
    final JetStreamLog log;
    /** The stream's last sequence before the test appended anything. */
    final long start;
    final CertifierLoop loop;
    /** What reads at the coordinator would see (group commit puts acknowledged versions here). */
    final RecentWrites recent = new RecentWrites();
    final List<String> resyncs = new CopyOnWriteArrayList<>();
    /** Every attempt to append a message, as group commit makes it. */
    final List<PipelineUnderTest.Sent> sent = new CopyOnWriteArrayList<>();

    /** {@code retries}: resends of an append without an ack, as presage.group-commit.retries. */
    HeldPipeline(int retries) throws Exception {
        server = NatsTestServer.start();
        proxy = new LateLandingAppendTest.HoldingProxy(server.port());
        log = JetStreamLog.connect(LogConfig.defaults(proxy.url()).withPublishTimeout(Duration.ofMillis(1_000)));
        start = log.lastSequence();
        recent.reset(start);
        loop = PipelineUnderTest.start(log, start, retries, recent, resyncs, 1024, sent);
    }

    CompletableFuture<CommitOutcome> submit(TxnSpec spec, TxnRequest req) {
        CompletableFuture<CommitOutcome> answer = new CompletableFuture<>();
        GroupCommit.Answer callback = answer::complete;
        assertTrue(loop.submit(req, spec, callback));
        return answer;
    }

    CompletableFuture<CommitOutcome> submitBlind(String key, String value) {
        return submit(TxnSpec.blind(key, value.getBytes(UTF_8), "c"),
                new TxnRequest(new String[0], new long[0], new String[] {key}));
    }

    /** The transactions in the log after {@link #start}, in log order. */
    List<LogTxn> landed() throws Exception {
        List<LogTxn> out = new ArrayList<>();
        long end = log.lastSequence();
        if (end > start) {
            for (LogMessage m : log.fetch(start + 1, (int) (end - start), Duration.ofSeconds(5))) {
                out.addAll(new BatchCodec().decode(m.data()).txns());
            }
        }
        return out;
    }

    @Override
    public void close() throws Exception {
        loop.close();
        log.close();
        proxy.close();
        server.close();
    }
}
