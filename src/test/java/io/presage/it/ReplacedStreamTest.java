package io.presage.it;

import static io.presage.it.Http.metric;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;

import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import io.nats.client.Connection;
import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.api.StreamConfiguration;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;

/**
 * A log stream deleted and made again that has since grown past what a mirror applied (a wiped
 * coordinator appending to it, say). The mirror used to raise its alarm only while the new stream was
 * shorter than its position: once it had grown past, the alarm went, the mirror applied the new
 * stream's messages after its position on top of the old stream's data (the new stream's first
 * messages never applied), was ready again, and honoured tokens of either log by their number. Now
 * the stream's identity (its creation time) is recorded with the applied position and named in every
 * token: nothing is applied from another stream, and a token of another stream is refused.
 */
@QuarkusTest
@TestProfile(ReplacedStreamTest.Profile.class)
class ReplacedStreamTest {

    /** The mirror as {@link MirrorProfile} starts it, in an application of its own: this test replaces the stream. */
    public static class Profile extends MirrorProfile {
    }

    @Test
    void aMirrorAppliesNothingFromAStreamMadeAgainEvenOnceItHasGrownPastItsPosition() throws Exception {
        Http.awaitReady(Duration.ofSeconds(60));
        long applied;
        try (LogWriter log = new LogWriter()) {
            log.append(log.txn(LogWriter.put("rs-a", "\"old\"")));
            applied = log.append(log.txn(LogWriter.put("rs-b", "\"old\"")));
        }
        RecreatedStreamTest.await(() -> given().get("/v1/status").jsonPath().getLong("appliedSequence") >= applied, "applied " + applied);
        String oldToken = given().get("/v1/kv/{k}", "rs-a").jsonPath().getString("token");
        given().queryParam("consistency", "causal").queryParam("after", oldToken).get("/v1/kv/{k}", "rs-a")
                .then().statusCode(200);

        String stream = ConfigProvider.getConfig().getValue("presage.nats.stream", String.class);
        Instant created;
        try (Connection nc = Nats.connect(ConfigProvider.getConfig().getValue("presage.nats.url", String.class))) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            StreamConfiguration sc = jsm.getStreamInfo(stream).getConfiguration();
            Instant before = jsm.getStreamInfo(stream).getCreateTime().toInstant();
            jsm.deleteStream(stream);
            created = jsm.addStream(sc).getCreateTime().toInstant();
            assertNotEquals(before, created, "a stream made again has another creation time");
        }
        // The new log grows past the mirror's position at once: its message applied + 1 writes rs-a.
        try (LogWriter log = new LogWriter()) {
            for (long i = 1; i <= applied; i++) {
                log.append(log.txn(LogWriter.put("rs-new-" + i, "\"new\"")));
            }
            log.append(log.txn(LogWriter.put("rs-a", "\"new\"")));
        }

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!given().get("/q/health/ready").asString().contains("made again")) {
            assertEquals(applied, given().get("/v1/status").jsonPath().getLong("appliedSequence"),
                    "the mirror applied messages of another stream as if they followed its own");
            assertTrue(System.nanoTime() < deadline, "the mirror never said its stream was made again: "
                    + given().get("/q/health/ready").asString());
            Thread.sleep(50);
        }
        given().get("/q/health/ready").then().statusCode(503);
        assertEquals(1, metric("presage_log_behind_store"));
        Thread.sleep(1_500); // more pulls and looks at the stream: still nothing applied from it
        assertEquals(applied, given().get("/v1/status").jsonPath().getLong("appliedSequence"));
        Response read = given().get("/v1/kv/{k}", "rs-a");
        read.then().statusCode(200);
        assertEquals("old", read.jsonPath().getString("value"), read.asString());
        assertEquals(0.0, read.jsonPath().getDouble("confidence"), "its copy may be stale: " + read.asString());
        given().get("/v1/kv/{k}", "rs-new-1").then().statusCode(404);

        // A token of the old log names a position in a stream that is gone: refused, not taken as reached.
        Response old = given().queryParam("consistency", "causal").queryParam("after", oldToken).get("/v1/kv/{k}", "rs-a");
        old.then().statusCode(409);
        assertEquals("LOG_REPLACED", old.jsonPath().getString("error"), old.asString());
        // One of the new log is the coordinator's to answer (down here: 503), never this copy's.
        long micros = created.getEpochSecond() * 1_000_000 + created.getNano() / 1_000;
        String newToken = "p2." + Long.toString(1, 36) + "." + Long.toString(micros, 36);
        Response fresh = given().queryParam("consistency", "causal").queryParam("after", newToken)
                .queryParam("timeoutMs", 500).get("/v1/kv/{k}", "rs-a");
        assertEquals(503, fresh.statusCode(), fresh.asString());
    }
}
