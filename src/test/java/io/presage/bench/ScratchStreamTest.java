package io.presage.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.StorageType;
import io.nats.client.api.StreamConfiguration;
import io.presage.testing.NatsTestServer;

/** The raw-publish benchmark's scratch streams, against a real nats-server. */
class ScratchStreamTest {
    private static NatsTestServer server;
    private static Connection nats;
    private static JetStreamManagement jsm;

    @BeforeAll
    static void start() throws Exception {
        server = NatsTestServer.start();
        nats = Nats.connect(server.url());
        jsm = nats.jetStreamManagement();
    }

    @AfterAll
    static void stop() throws Exception {
        nats.close();
        server.close();
    }

    @Test
    void twoRunsAtOnceEachPublishToTheirOwnStreamAndClosingOneLeavesTheOtherUsable() throws Exception {
        try (ScratchStream first = ScratchStream.create(jsm); ScratchStream second = ScratchStream.create(jsm)) {
            assertNotEquals(first.name(), second.name());
            assertNotEquals(first.subject(), second.subject());
            first.close(); // the first run ends while the second still publishes
            assertEquals(1, nats.jetStream().publish(second.subject(), new byte[] {1}).getSeqno());
            assertTrue(streamNames().contains(second.name()));
            assertTrue(!streamNames().contains(first.name()), "deleted when closed");
        }
        assertTrue(streamNames().stream().noneMatch(n -> n.startsWith(ScratchStream.NAME_PREFIX)));
    }

    @Test
    void aDeadRunsStreamIsRemovedOnceOlderThanTheCutoffAndOtherStreamsNever() throws Exception {
        jsm.addStream(StreamConfiguration.builder().name("BENCH_RAW_DEAD").subjects("bench.raw.dead")
                .storageType(StorageType.File).build());
        jsm.addStream(StreamConfiguration.builder().name("MIRROR_LOG_OTHER").subjects("other.log")
                .storageType(StorageType.File).build());

        assertEquals(0, ScratchStream.removeCreatedBefore(jsm, Instant.now().minus(Duration.ofMinutes(1))),
                "created just now: a live run's, kept");
        assertTrue(streamNames().contains("BENCH_RAW_DEAD"));

        assertEquals(1, ScratchStream.removeCreatedBefore(jsm, Instant.now().plusSeconds(1)));
        List<String> left = streamNames();
        assertTrue(!left.contains("BENCH_RAW_DEAD"), "removed: " + left);
        assertTrue(left.contains("MIRROR_LOG_OTHER"), "not a scratch stream: never touched");
        jsm.deleteStream("MIRROR_LOG_OTHER");
    }

    private static List<String> streamNames() throws Exception {
        return jsm.getStreamNames();
    }
}
