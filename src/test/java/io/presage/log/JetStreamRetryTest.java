package io.presage.log;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.presage.testing.NatsTestServer;

/**
 * The log's two safety nets against a real nats-server: de-duplication by {@code Nats-Msg-Id} (what
 * makes group commit's retry of an uncertain append safe) and fencing by expected last sequence.
 * Each test has a server of its own: streams of the log all claim {@code mirror.log.>}, so one server
 * holds one log.
 */
class JetStreamRetryTest {
    private NatsTestServer nats;

    @BeforeEach
    void startServer() {
        nats = NatsTestServer.start();
    }

    @AfterEach
    void stopServer() {
        if (nats != null) {
            nats.close();
        }
    }

    private JetStreamLog open() {
        return JetStreamLog.connect(LogConfig.defaults(nats.url()).withPublishTimeout(Duration.ofSeconds(5)));
    }

    private static Appended append(JetStreamLog log, byte[] payload, String msgId, long expected) throws Exception {
        return log.append(JetStreamLog.subjectFor(0), payload, msgId, expected).get(10, TimeUnit.SECONDS);
    }

    @Test
    void theSamePayloadAndMessageIdAppendedTwiceIsStoredOnce() throws Exception {
        try (JetStreamLog log = open()) {
            byte[] payload = "batch-1".getBytes(UTF_8);
            Appended first = append(log, payload, "coord-1-1", 0);
            // What a retry after a lost ack sends: the same id and the same expectation.
            Appended second = append(log, payload, "coord-1-1", 0);

            assertEquals(new Appended(1, false), first);
            assertEquals(new Appended(1, true), second, "acknowledged as the original, flagged duplicate");
            assertEquals(1, log.lastSequence(), "one message in the stream");
            List<LogMessage> all = log.fetch(1, 10, Duration.ZERO);
            assertEquals(1, all.size());
            assertArrayEquals(payload, all.get(0).data());
        }
    }

    @Test
    void aRetryIsRecognisedAsADuplicateEvenOnceTheLogHasMovedOnAndOthersAreFenced() throws Exception {
        try (JetStreamLog log = open()) {
            append(log, "a".getBytes(UTF_8), "coord-1-1", 0);
            append(log, "b".getBytes(UTF_8), "coord-1-2", 1);

            // JetStream checks the id before the expectation: the stale retry of message 1 is a
            // duplicate (it landed), not a fencing; group commit relies on exactly this order.
            assertEquals(new Appended(1, true), append(log, "a".getBytes(UTF_8), "coord-1-1", 0));

            // A new message with the stale expectation is refused, naming where the stream is.
            ExecutionException e = assertThrows(ExecutionException.class,
                    () -> append(log, "c".getBytes(UTF_8), "coord-2-1", 1));
            LogFencedException fenced = assertInstanceOf(LogFencedException.class, e.getCause());
            assertEquals(1, fenced.expectedLastSequence());
            assertEquals(2, fenced.actualLastSequence());
            assertEquals(2, log.lastSequence(), "nothing was appended by the refused writer");
        }
    }

    @Test
    void aDifferentMessageIdIsANewMessageEvenWithTheSamePayload() throws Exception {
        try (JetStreamLog log = open()) {
            byte[] payload = "same".getBytes(UTF_8);
            Appended first = append(log, payload, "coord-1-1", 0);
            Appended second = append(log, payload, "coord-1-2", 1);
            assertFalse(first.duplicate() || second.duplicate());
            assertEquals(2, second.sequence());
            assertEquals(2, log.fetch(1, 10, Duration.ZERO).size(), "de-duplication is by id, not by content");
        }
    }
}
