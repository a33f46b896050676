package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.presage.apply.Applier;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * "A gap (the consumer ahead of the database, e.g. after the database was restored) is filled by reading
 * the log by sequence" (Applier). Only if another message arrives: on a quiet log, an applier that
 * (re)starts from a restored database never catches up, and its node answers from the old state.
 * The applier restart is provoked the way a process restart would look to it: its loop fails once and
 * re-reads its position from the database (here: the dead-letter recount failing for a moment).
 */
@QuarkusTest
@QuarkusTestResource(value = MirrorRoleServers.class, restrictToAnnotatedClass = true)
class RestoredDatabaseIdleLogTest {
    @Inject
    Applier applier;

    @Test
    void anApplierRestartedOnARestoredDatabaseCatchesUpOnAQuietLog() throws Exception {
        try (LogWriter log = new LogWriter(); Connection db = AppDatabase.connect(); Statement s = db.createStatement()) {
            long parked = log.appendRaw("not a batch".getBytes(StandardCharsets.UTF_8)); // deadLetters > 0: recounted every 2 s
            long a = log.append(log.txn(LogWriter.put("restore-a", "1")));
            long b = log.append(log.txn(LogWriter.put("restore-b", "2")));
            await(() -> applier.appliedSequence() >= b, "applied " + b);
            assertEquals("2", AppDatabase.storedValue("restore-b"));

            // The database is restored to a backup taken right after the parked message (consumer stays ahead).
            s.execute("delete from items");
            s.execute("update apply_state set last_seq = " + parked + " where id = 1");
            // The applier restarts (as after a process restart): its loop fails once, then reads its position again.
            s.execute("alter table dead_letters rename to dead_letters_away");
            await(() -> applier.lastError() != null, "the applier failing once");
            s.execute("alter table dead_letters_away rename to dead_letters");
            await(() -> applier.appliedSequence() == parked, "the applier restarted from the restored position");

            // Nothing more is appended. The log holds a and b; the database must get them back.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (applier.appliedSequence() < b && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(b, applier.appliedSequence(), "the applier stays at " + applier.appliedSequence()
                    + " on a quiet log although the stream holds " + a + ".." + b);
            assertEquals("2", AppDatabase.storedValue("restore-b"));
        }
    }

    private static void await(java.util.function.BooleanSupplier c, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!c.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not " + what + " in 30 s");
            Thread.sleep(20);
        }
    }
}
