package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
            Http.await(() -> applier.appliedSequence() >= b, "applied " + b);
            assertEquals("2", AppDatabase.storedValue("restore-b"));

            // The database is restored to a backup taken right after the parked message (consumer stays ahead).
            s.execute("delete from items");
            s.execute("update apply_state set last_seq = " + parked + " where id = 1");
            // The applier restarts (as after a process restart): its loop fails once, then reads its position again.
            s.execute("alter table dead_letters rename to dead_letters_away");
            Http.await(() -> applier.lastError() != null, "the applier failing once");
            s.execute("alter table dead_letters_away rename to dead_letters");
            Http.await(() -> applier.appliedSequence() == parked, "the applier restarted from the restored position");

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

    /**
     * The database loses the applier's last commits while the node runs (restored from a backup, or failed over
     * to a replica that had not received them), and the next message comes before or after the idle applier has
     * noticed (it compares positions at most once a second). That message used to be applied over the hole: its chunk's update only asked that the position not go
     * backwards, so {@code last_seq} went from the restored position to the new message, and the lost
     * messages' writes were missing for good with nothing reported. Now the chunk is refused, and the applier
     * reads the position again and applies the log from there.
     */
    @Test
    void aDatabaseThatLostTheAppliersLastCommitsWhileItRanGetsThemBackAtTheNextMessage() throws Exception {
        try (LogWriter log = new LogWriter(); Connection db = AppDatabase.connect(); Statement s = db.createStatement()) {
            long kept = log.append(log.txn(LogWriter.put("lost-1", "1")));
            log.append(log.txn(LogWriter.put("lost-2", "2")));
            long lastLost = log.append(log.txn(LogWriter.put("lost-3", "3")));
            Http.await(() -> applier.appliedSequence() >= lastLost, "applied " + lastLost);
            assertEquals("3", AppDatabase.storedValue("lost-3"));

            // The database goes back to right after the first message; the applier, idle, goes on from its own.
            s.execute("delete from items where item_key in ('lost-2', 'lost-3')");
            s.execute("update apply_state set last_seq = " + kept + " where id = 1");

            long next = log.append(log.txn(LogWriter.put("lost-4", "4")));
            Http.await(() -> "4".equals(storedValueNow("lost-4")), "the next message applied");
            assertEquals("2", AppDatabase.storedValue("lost-2"), "a lost message's write applied again");
            assertEquals("3", AppDatabase.storedValue("lost-3"), "a lost message's write applied again");
            try (java.sql.ResultSet rs = s.executeQuery("select last_seq from apply_state where id = 1")) {
                rs.next();
                assertEquals(next, rs.getLong(1));
            }
        }
    }

    private static String storedValueNow(String key) {
        try {
            return AppDatabase.storedValue(key);
        } catch (java.sql.SQLException e) {
            throw new IllegalStateException(e);
        }
    }
}
