package io.presage.it;

import static io.presage.it.Http.awaitApplied;
import static io.presage.it.Http.get;
import static io.presage.it.Http.post;
import static io.presage.it.Http.put;
import static io.presage.it.Http.sequenceOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.presage.apply.Applier;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;

/**
 * The coordinator's database loses commits it had applied while the coordinator runs (restored from a
 * backup, failed over to a replica that lacked them). The applier notices at the next message, starts
 * again from the database's lower position and reloads the read cache from it. Memory no longer holds
 * the lost commits' versions (they had been applied), so until the applier has applied them again
 * neither the store nor the cache is current. Held here with a row lock on the applier's position.
 *
 * <p>Before: every read looked again at once, for ever, and on the cache's path that recursed until the
 * stack overflowed (500 INTERNAL); and a transaction that read a cold key's version from before the lost
 * range was certified against the reloaded cache, which called that version current, and committed over
 * an acknowledged write. A tiny certification window and one floor bucket make the key cold.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true, initArgs = {
        @ResourceArg(name = "presage.certification.window-keys", value = "4"),
        @ResourceArg(name = "presage.certification.floor-buckets", value = "1"),
        // One key cached: a key not read since its write is looked up in the database, not the cache.
        @ResourceArg(name = "presage.apply.cache-keys", value = "1") })
class StoreBehindMemoryTest {
    @Inject
    Applier applier;

    @Test
    void whileTheApplierAppliesCommitsTheDatabaseLostReadsWaitAndStaleColdReadsAbort() throws Exception {
        Lost lost = writtenOverABackup("sbm-k", "items_backup");
        Response v1 = lost.v1();
        Response v2 = lost.v2();
        long backupAt = lost.backupAt();
        try (Connection db = AppDatabase.connect(); Statement s = db.createStatement();
                Connection hold = AppDatabase.connect(); Statement h = hold.createStatement()) {
            // The database is restored to the backup; the applier, idle, notices at the next message.
            s.execute("delete from items");
            s.execute("insert into items select * from items_backup");
            s.execute("update apply_state set last_seq = " + backupAt + " where id = 1");
            assertEquals(200, put("sbm-next", "1").statusCode());
            Http.await(() -> String.valueOf(applier.lastError()).contains("StoreBehind"), "the applier refusing to apply over the hole");
            hold.setAutoCommit(false);
            h.execute("select 1 from apply_state where id = 1 for update"); // it applies again, and waits here
            // Restarted at the restored position, the read cache loaded from the database there.
            Http.awaitStatus(st -> st.getLong("readCache.position") == backupAt, "the read cache reloaded at " + backupAt);
            assertEquals(backupAt, applier.appliedSequence(), "the applier waits at the restored position");

            long start = System.nanoTime();
            Response read = get("sbm-k");
            long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertEquals(503, read.statusCode(), "the store lacks acknowledged commits: " + read.asString());
            assertTrue(read.jsonPath().getString("message").contains("behind"), read.asString());
            assertTrue(tookMs >= 4_000, "waited for the applier up to the commit timeout (5 s): " + tookMs + " ms");

            String readsOld = "{\"reads\":[{\"key\":\"sbm-k\",\"version\":" + v1.jsonPath().getLong("timestamp") + "}],"
                    + "\"writes\":[{\"key\":\"sbm-k\",\"value\":10}]}";
            Response stale = post("/v1/transactions", readsOld);
            assertEquals(409, stale.statusCode(), "read a version overwritten by an acknowledged commit: " + stale.asString());

            hold.rollback(); // the applier applies the lost range again
            Response after = get("sbm-k");
            assertEquals(200, after.statusCode(), after.asString());
            assertEquals("2", after.jsonPath().getString("value"), "the acknowledged write, not the restored one");
            Response again = post("/v1/transactions", readsOld);
            assertEquals(409, again.statusCode(), "still stale once the store has caught up: " + again.asString());
            String readsNew = "{\"reads\":[{\"key\":\"sbm-k\",\"version\":" + v2.jsonPath().getLong("timestamp") + "}],"
                    + "\"writes\":[{\"key\":\"sbm-k\",\"value\":10}]}";
            Response current = post("/v1/transactions", readsNew);
            assertEquals(200, current.statusCode(), "the acknowledged version is current: " + current.asString());
        }
    }

    /**
     * The same loss, asked before the applier has noticed it: the read cache still stands at the position
     * the database lost. A key out of the certifier's window and out of the cache is looked up in the
     * database, which answers the version from before the lost range. The lookup checked only the read
     * cache's position, found it current, and the transaction that read the overwritten version committed
     * over the acknowledged write; the database's own position, read in the lookup's statement, refuses it.
     */
    @Test
    void aColdLookupInADatabaseThatLostAppliedCommitsIsNotTakenForCurrent() throws Exception {
        Lost lost = writtenOverABackup("sbm-cold", "items_cold_backup");
        Response v1 = lost.v1();
        long backupAt = lost.backupAt();
        try (Connection db = AppDatabase.connect(); Statement s = db.createStatement();
                Connection hold = AppDatabase.connect(); Statement h = hold.createStatement()) {
            long lastPut = lost.last();
            Http.awaitStatus(st -> st.getLong("readCache.position") >= lastPut, "the read cache at " + lastPut);
            long cachedAt = Http.status().getLong("readCache.position");

            // Restored in one transaction, then the applier's position row held: if its once-a-second look
            // notices the loss it starts again and reloads the cache below cachedAt, and stays there.
            db.setAutoCommit(false);
            s.execute("delete from items");
            s.execute("insert into items select * from items_cold_backup");
            s.execute("update apply_state set last_seq = " + backupAt + " where id = 1");
            db.commit();
            db.setAutoCommit(true);
            hold.setAutoCommit(false);
            h.execute("select 1 from apply_state where id = 1 for update");

            Response stale = post("/v1/transactions", "{\"reads\":[{\"key\":\"sbm-cold\",\"version\":"
                    + v1.jsonPath().getLong("timestamp") + "}],\"writes\":[{\"key\":\"sbm-cold\",\"value\":10}]}");
            assumeTrue(Http.status().getLong("readCache.position") == cachedAt,
                    "the applier noticed the loss before the lookup, so the cache's position alone refused it");
            assertEquals(409, stale.statusCode(), "read a version overwritten by an acknowledged commit: " + stale.asString());
            assertEquals("HISTORY_TOO_SHORT", stale.jsonPath().getString("reason"), stale.asString());

            hold.rollback(); // the applier notices (at the next message at the latest) and applies the range again
            assertEquals(200, put("sbm-cold-next", "1").statusCode());
            Http.await(() -> "2".equals(get("sbm-cold").jsonPath().getString("value")), "the acknowledged write stored again");
        }
    }

    /** A key's two writes with a backup of {@code items} between them; {@code last} the sequence of what came after. */
    private record Lost(Response v1, Response v2, long backupAt, long last) {
    }

    /**
     * {@code key} = 1, a backup of the items into {@code backupTable}, {@code key} = 2, then eight other keys:
     * out of the certifier's window of 4 keys (so {@code key} is cold), and out of the cache of 1 key. All
     * applied, so out of memory too.
     */
    private static Lost writtenOverABackup(String key, String backupTable) throws Exception {
        Http.awaitReady(java.time.Duration.ofSeconds(60));
        Response v1 = put(key, "1");
        assertEquals(200, v1.statusCode(), v1.asString());
        long backupAt = sequenceOf(v1);
        awaitApplied(backupAt);
        try (Connection db = AppDatabase.connect(); Statement s = db.createStatement()) {
            s.execute("create table " + backupTable + " as select * from items"); // the backup, at backupAt
        }
        Response v2 = put(key, "2");
        assertEquals(200, v2.statusCode(), v2.asString());
        long last = 0;
        for (int i = 0; i < 8; i++) {
            last = sequenceOf(put(key + "-other-" + i, "0"));
        }
        awaitApplied(last);
        return new Lost(v1, v2, backupAt, last);
    }
}
