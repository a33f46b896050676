package io.presage.it;

import static io.presage.it.Http.awaitApplied;
import static io.presage.it.Http.awaitStatus;
import static io.restassured.RestAssured.given;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.time.Duration;
import java.util.List;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.presage.apply.ItemStore;
import io.presage.coord.CommitOutcome;
import io.presage.coord.CoordinatorEngine;
import io.presage.coord.TxnSpec;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.vertx.VertxContextSupport;

/**
 * Idempotency ids leave the store after {@code presage.apply.id-retention} (here 1 s; 7 days by
 * default), against a real nats-server and PostgreSQL. Memory holds the newest 4 ids here.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true, initArgs = {
        @ResourceArg(name = "presage.apply.id-retention", value = "1s"),
        @ResourceArg(name = "presage.group-commit.remembered-ids", value = "4") })
class IdRetentionTest {
    @Inject
    CoordinatorEngine engine;
    @Inject
    ItemStore store;

    /**
     * An id older than the retention is deleted from the store by the node itself, and counted; once
     * memory has forgotten it too, a retry under it is a new transaction, as README says. Before, the
     * store kept every id for ever.
     */
    @Test
    void anIdOlderThanTheRetentionLeavesTheStoreAndARetryUnderItOnceForgottenCommitsAnew() throws Throwable {
        awaitStatus(s -> "READY".equals(s.getString("state")), "the coordinator READY");
        CommitOutcome.Committed first = assertInstanceOf(CommitOutcome.Committed.class, commit(write("ret-old", "ret-k", 1)));
        awaitApplied(first.sequence());
        assertNotNull(find("ret-old"), "stored once applied");

        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (find("ret-old") != null) {
            assertTrue(System.nanoTime() < deadline, "ret-old still stored 30 s after a retention of 1 s");
            Http.sleep(100);
        }
        String metrics = given().get("/q/metrics").asString();
        assertTrue(metrics.lines().anyMatch(l -> l.startsWith("presage_ids_forgotten_total") && !l.endsWith(" 0.0")),
                "counted: " + metrics.lines().filter(l -> l.startsWith("presage_ids")).toList());

        for (int i = 0; i < 8; i++) {
            CommitOutcome o = commit(write("ret-filler-" + i, "ret-filler-" + i, i));
            awaitApplied(assertInstanceOf(CommitOutcome.Committed.class, o, "filler " + i).sequence());
        }
        assertFalse(engine.knowsId("ret-old"), "forgotten from memory as well");
        CommitOutcome.Committed again = assertInstanceOf(CommitOutcome.Committed.class, commit(write("ret-old", "ret-k", 2)));
        assertNotEquals(first.timestamp(), again.timestamp(), "a new transaction");
        assertTrue(Http.get("ret-k").asString().contains("\"value\":2"), Http.get("ret-k").asString());
    }

    /**
     * The retention counts from when the id was committed, not from its commit timestamp: a stale read
     * commits at an adjusted timestamp placed in the past, as far back as the versions it read, and
     * its id was deleted at the next sweep, moments after its commit, when that timestamp was older
     * than the retention (here 3 s old against 1 s). Once memory forgot it too (a restart, a failover,
     * busy ids), a retry committed a second time.
     */
    @Test
    void anIdCommittedAtAnAdjustedTimestampOlderThanTheRetentionIsKeptForTheRetentionAfterItsCommit() throws Throwable {
        awaitStatus(s -> "READY".equals(s.getString("state")), "the coordinator READY");
        long a1 = Http.put("ret-adj-a", "1").jsonPath().getLong("timestamp");
        long b1 = Http.put("ret-adj-b", "1").jsonPath().getLong("timestamp");
        Http.sleep(3_000); // the versions read become older than the retention
        long a2 = Http.put("ret-adj-a", "2").jsonPath().getLong("timestamp");
        TxnSpec stale = new TxnSpec("ret-adjusted", List.of(new TxnSpec.Read("ret-adj-a", a1), new TxnSpec.Read("ret-adj-b", b1)),
                List.of(new TxnSpec.Write("ret-adj-c", "3".getBytes(UTF_8))), "coordinator");
        long sent = System.nanoTime(); // the id is stored after this: it is kept at least a second from here
        CommitOutcome.Committed c = assertInstanceOf(CommitOutcome.Committed.class, commit(stale));
        assertTrue(c.adjusted() && c.timestamp() > b1 && c.timestamp() < a2, "placed in the past, 3 s back: " + c);
        awaitApplied(c.sequence());
        assertNotNull(find("ret-adjusted"), "stored once applied");
        Http.sleep(300); // three sweeps (every 100 ms), within the retention of the id's commit
        boolean stored = find("ret-adjusted") != null;
        // A machine stalled past the retention proves nothing either way (the id may rightly be gone then).
        assumeTrue(System.nanoTime() - sent < Duration.ofMillis(900).toNanos(), "the check ran within the retention");
        assertTrue(stored, "kept for the retention after its commit");
    }

    private ItemStore.TxnRecord find(String id) {
        return store.findTxn(id).await().atMost(Duration.ofSeconds(10));
    }

    private CommitOutcome commit(TxnSpec spec) throws Throwable {
        return VertxContextSupport.subscribeAndAwait(() -> engine.commit(spec));
    }

    private static TxnSpec write(String id, String key, int value) {
        return new TxnSpec(id, List.of(), List.of(new TxnSpec.Write(key, String.valueOf(value).getBytes(UTF_8))), "coordinator");
    }
}
