package io.presage.it;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import org.junit.jupiter.api.Test;

import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;

/**
 * A mirror whose PostgreSQL cannot be reached by its applier when it starts (the reactive connection
 * refused; the schema was migrated over JDBC) has not read {@code apply_state} yet, so it does not know
 * what it has applied. {@code /v1/status} said {@code appliedSequence: 0}, which means "applied nothing":
 * a lie about a database that may hold the whole log. It now says {@code null} (unknown) until the read.
 */
@QuarkusTest
@TestProfile(StoreUnreachableAtStartTest.Profile.class)
class StoreUnreachableAtStartTest {

    /** The mirror on real NATS and PostgreSQL, its reactive (applier's) connection pointed at a closed port. */
    public static class Profile extends MirrorProfile {
        public Profile() {
            super(StoreUnreachableAtStartTest.Servers.class);
        }
    }

    public static class Servers extends MirrorProfile.Servers {
        @Override
        public Map<String, String> start() {
            Map<String, String> cfg = super.start();
            cfg.put("quarkus.datasource.reactive.url", "postgresql://127.0.0.1:" + MirrorProfile.closedPort() + "/none");
            return cfg;
        }
    }

    @Test
    void aMirrorThatHasNotReadItsAppliedPositionReportsItAsUnknownNotZero() throws Exception {
        Thread.sleep(2_000); // the applier has tried, and failed, to read apply_state
        Response status = given().get("/v1/status");
        assertEquals(200, status.statusCode(), status.asString());
        assertTrue(status.jsonPath().getMap("").containsKey("appliedSequence"), "the field stays: " + status.asString());
        assertNull(status.jsonPath().get("appliedSequence"), "0 would say it applied nothing: " + status.asString());
        assertNull(status.jsonPath().get("lag.sequences"), "nor is the lag known: " + status.asString());
    }
}
