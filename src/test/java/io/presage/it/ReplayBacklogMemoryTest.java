package io.presage.it;

import static io.presage.it.Http.assertUnavailable;
import static io.presage.it.Http.awaitApplied;
import static io.presage.it.Http.awaitStatus;
import static io.presage.it.Http.metric;
import static io.presage.it.Http.put;
import static io.presage.it.Http.sequenceOf;
import static io.presage.it.Http.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.presage.log.LogTxn;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;

/**
 * Recovery keeps the values of the log it replays past the database's position in memory, since the
 * database does not have them yet. A backlog larger than {@code presage.group-commit.max-unapplied-bytes}
 * (an empty or restored database under a long stream, or PostgreSQL held up while the log grew) was
 * replayed whole into the heap: past the heap, the coordinator ran out of memory, and did again at
 * every restart. Commits are held to that budget (503 DATABASE_BEHIND); recovery must be too, waiting
 * for its applier instead.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true,
        initArgs = @ResourceArg(name = "presage.group-commit.max-unapplied-bytes", value = "64K"))
class ReplayBacklogMemoryTest {
    private static final long LIMIT = 64 * 1024;
    private static final int MESSAGES = 100;
    private static final String VALUE = "\"" + "v".repeat(3_000) + "\"";

    @Test
    void aReplayedBacklogBeyondTheUnappliedBudgetWaitsForTheDatabaseInsteadOfFillingTheHeap() throws Exception {
        Http.awaitReady(Duration.ofSeconds(60));
        Response first = put("backlog-first", "1");
        assertEquals(200, first.statusCode(), first.asString());
        awaitApplied(sequenceOf(first));

        long lastForeign = 0;
        double most = 0;
        try (Connection hold = AppDatabase.connect(); LogWriter other = new LogWriter()) {
            // The database applies nothing more while the log grows by ~300 kB of values.
            hold.setAutoCommit(false);
            try (Statement s = hold.createStatement()) {
                s.execute("set local lock_timeout = '10s'");
                s.execute("lock table items in exclusive mode");
            }
            for (int i = 0; i < MESSAGES; i++) {
                LogTxn t = other.txn(LogWriter.put("backlog-" + i, VALUE));
                lastForeign = other.append(t);
            }
            // The foreign messages fence the coordinator's next commit: it rebuilds, replaying all of them.
            assertUnavailable(put("backlog-fenced", "2"));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            JsonPath s = status();
            while (System.nanoTime() < deadline && !"READY".equals(s.getString("state"))
                    && !s.getString("detail").contains("waiting for the database")) {
                most = Math.max(most, metric("presage_recent_writes_bytes"));
                Http.sleep(20);
                s = status();
            }
            most = Math.max(most, metric("presage_recent_writes_bytes"));
            // One message over the budget at most: the replay checks before each.
            assertTrue(most <= LIMIT + 4 * 1024, "recovery held " + (long) most + " bytes of unapplied values in memory, "
                    + "more than the " + LIMIT + " the unapplied budget allows; state " + s.prettify());
            hold.rollback();
        }
        long last = lastForeign;
        awaitStatus(s -> "READY".equals(s.getString("state")) && s.getLong("committedSequence") > last,
                "READY once the database has caught up");
        assertEquals(VALUE, AppDatabase.storedValue("backlog-" + (MESSAGES - 1)));
        Response after = put("backlog-after", "3");
        assertEquals(200, after.statusCode(), after.asString());
        assertTrue(sequenceOf(after) > last);
    }
}
