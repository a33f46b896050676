package io.presage.it;

import static io.presage.it.Http.metric;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.function.BooleanSupplier;

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
 * A log stream deleted and made again (or made afresh under the same name on a new NATS server) starts
 * numbering at 1 again, below what a mirror has applied. The mirror used to take "the stream ends at
 * or before my position" for "caught up": it stayed ready, answered its copies with high confidence,
 * and took later messages numbered at or below its position for replays. Now it says so: readiness
 * down, a metric, and no copy taken for current.
 */
@QuarkusTest
@TestProfile(RecreatedStreamTest.Profile.class)
class RecreatedStreamTest {

    /** The mirror as {@link MirrorProfile} starts it, in an application of its own: this test deletes the stream. */
    public static class Profile extends MirrorProfile {
    }

    @Test
    void aMirrorWhoseStreamWasMadeAgainEmptyIsNotReadyAndTakesNoCopyForCurrent() throws Exception {
        Http.awaitReady(Duration.ofSeconds(60));
        long last;
        try (LogWriter log = new LogWriter()) {
            log.append(log.txn(LogWriter.put("rc-a", "1")));
            last = log.append(log.txn(LogWriter.put("rc-b", "2")));
        }
        long applied = last;
        await(() -> given().get("/v1/status").jsonPath().getLong("appliedSequence") >= applied, "applied " + applied);
        double before = given().get("/v1/kv/{k}", "rc-a").jsonPath().getDouble("confidence");
        assertTrue(before > 0, "a drained mirror's copy has some confidence: " + before);
        assertEquals(0, metric("presage_log_behind_store"));

        String stream = ConfigProvider.getConfig().getValue("presage.nats.stream", String.class);
        try (Connection nc = Nats.connect(ConfigProvider.getConfig().getValue("presage.nats.url", String.class))) {
            JetStreamManagement jsm = nc.jetStreamManagement();
            StreamConfiguration sc = jsm.getStreamInfo(stream).getConfiguration();
            jsm.deleteStream(stream);
            jsm.addStream(sc);
        }

        await(() -> given().get("/q/health/ready").statusCode() == 503, "readiness down");
        Response health = given().get("/q/health/ready");
        assertTrue(health.asString().contains("logProblem"), health.asString());
        assertEquals(1, metric("presage_log_behind_store"));
        Response read = given().get("/v1/kv/{k}", "rc-a");
        read.then().statusCode(200);
        assertEquals(0.0, read.jsonPath().getDouble("confidence"), "its copy may be stale: " + read.asString());
    }

    static void await(BooleanSupplier c, String what) throws InterruptedException {
        io.presage.testing.Await.until(c, what, 30, 50);
    }
}
