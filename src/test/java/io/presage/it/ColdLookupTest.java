package io.presage.it;

import static io.presage.it.Http.awaitApplied;
import static io.presage.it.Http.post;
import static io.presage.it.Http.put;
import static io.presage.it.Http.sequenceOf;
import static io.presage.it.Http.metric;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;

/**
 * A cold key's version is looked up in the database on the certifier's thread. With the database
 * stuck (here: a lock on the items table), that lookup must not stall every commit: the read is
 * refused as HISTORY_TOO_SHORT within the lookup timeout, other commits go on, and once the database
 * answers again the same transaction commits. A tiny certification window and one floor bucket make a
 * key cold after a few other writes; a tiny read cache, full before the key is written, leaves it out.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true, initArgs = {
        @ResourceArg(name = "presage.certification.window-keys", value = "4"),
        @ResourceArg(name = "presage.certification.floor-buckets", value = "1"),
        @ResourceArg(name = "presage.apply.cache-keys", value = "4"),
        @ResourceArg(name = "presage.certification.cold-lookup-timeout", value = "2s"),
        @ResourceArg(name = "presage.certification.cold-lookup-pause", value = "200ms") })
class ColdLookupTest {

    @Test
    void aStuckDatabaseRefusesColdReadsInsteadOfStallingCommits() throws Exception {
        Http.awaitReady(java.time.Duration.ofSeconds(60));
        pushOut("0"); // fills the read cache: keys written from now on are not cached
        Response first = put("cold-k", "1");
        assertEquals(200, first.statusCode(), first.asString());
        long v = first.jsonPath().getLong("timestamp");
        pushOut("a");
        String readCold = "{\"reads\":[{\"key\":\"cold-k\",\"version\":" + v + "}],"
                + "\"writes\":[{\"key\":\"cold-w\",\"value\":1}]}";

        long lookups = coldLookups();
        Response ok = post("/v1/transactions", readCold);
        assertEquals(200, ok.statusCode(), "the store says " + v + " is current: " + ok.asString());
        assertTrue(coldLookups() > lookups, "answered by a cold lookup");
        pushOut("b"); // reading it made it hot again

        try (Connection hold = AppDatabase.connect()) {
            hold.setAutoCommit(false);
            try (Statement s = hold.createStatement()) {
                s.execute("lock table items in access exclusive mode"); // the lookup waits behind it
            }
            // Bounded by the test, not by the code under test: without the lookup timeout this hangs
            // until the lock goes, which is after these calls.
            Response refused = within(() -> post("/v1/transactions", readCold));
            assertEquals(409, refused.statusCode(), refused.asString());
            assertEquals("HISTORY_TOO_SHORT", refused.jsonPath().getString("reason"), refused.asString());
            double refusedBefore = metric("presage_cold_lookups_refused_total");
            Response again = within(() -> post("/v1/transactions", readCold));
            assertEquals(409, again.statusCode(), again.asString());
            assertEquals(refusedBefore + 1, metric("presage_cold_lookups_refused_total"), "not asked while the first lookup hangs");
            Response hot = within(() -> put("cold-hot", "2"));
            assertEquals(200, hot.statusCode(), "other commits go on: " + hot.asString());
            hold.rollback();
        }

        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Response after;
        do {
            Thread.sleep(100);
            after = post("/v1/transactions", readCold);
        } while (after.statusCode() != 200 && System.nanoTime() < deadline);
        assertEquals(200, after.statusCode(), "the database answers again: " + after.asString());
    }

    /** Writes other keys until cold-k is out of the window and the cache, under a floor above its version. */
    private static void pushOut(String round) throws InterruptedException {
        long seq = 0;
        for (int i = 0; i < 12; i++) {
            Response r = put("cold-other-" + round + i, Integer.toString(i));
            assertEquals(200, r.statusCode(), r.asString());
            seq = sequenceOf(r);
        }
        awaitApplied(seq);
    }

    private static Response within(java.util.function.Supplier<Response> call) throws Exception {
        return CompletableFuture.supplyAsync(call).get(30, TimeUnit.SECONDS);
    }

    private static long coldLookups() {
        return given().get("/v1/status").jsonPath().getLong("certification.coldLookups");
    }
}
