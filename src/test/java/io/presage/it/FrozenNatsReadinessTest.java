package io.presage.it;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.presage.testing.NatsTestServer;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;

/**
 * A mirror whose nats-server hangs (SIGSTOP: its sockets stay open, nothing answers) was ready all along:
 * a quiet log and a stalled one look alike to a follower whose pulls just come back empty. It now asks
 * the stream for its state every second, bounded, and is not ready while no answer has come for
 * {@code presage.nats.unanswered-after}, saying so; once the server answers again, it is ready again.
 */
@QuarkusTest
@TestProfile(FrozenNatsReadinessTest.Profile.class)
class FrozenNatsReadinessTest {

    /** The mirror as {@link MirrorProfile} starts it, in an application of its own: this test freezes its NATS. */
    public static class Profile extends MirrorProfile {
    }

    @Test
    void aMirrorIsNotReadyWhileItsNatsServerIsFrozenAndReadyAgainOnceItAnswers() throws Exception {
        Http.awaitReady(Duration.ofSeconds(60));
        NatsTestServer nats = RealServers.nats;
        long frozeAt = System.nanoTime();
        nats.pause();
        Response ready;
        try {
            ready = awaitReadiness(503, 8);
        } finally {
            nats.resume();
        }
        long downAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - frozeAt);
        assertTrue(ready.asString().contains("does not answer"), "the reason is given: " + ready.asString());
        assertTrue(downAfterMs < 8_000, "not ready " + downAfterMs + " ms after NATS froze");

        long thawedAt = System.nanoTime();
        awaitReadiness(200, 15);
        long upAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - thawedAt);
        assertTrue(upAfterMs < 15_000, "ready again " + upAfterMs + " ms after NATS answered again");
    }

    /** Polls readiness until it answers {@code status}; fails after {@code seconds}. */
    private static Response awaitReadiness(int status, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        Response r = given().get("/q/health/ready");
        while (r.statusCode() != status) {
            assertTrue(System.nanoTime() < deadline, "readiness not " + status + " within " + seconds + " s: " + r.asString());
            Thread.sleep(100);
            r = given().get("/q/health/ready");
        }
        return r;
    }
}
