package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.presage.apply.Applier;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * A log message that decodes but that no coordinator writes (see {@code ApplicableBatch}): here a key with
 * U+0000, which PostgreSQL's text refuses. Its chunk failed in the database, was tried again, and failed
 * again, without end: nothing after it was ever applied, and nothing was parked. It is now parked like a
 * message that cannot be decoded, and the log is applied on past it.
 */
@QuarkusTest
@QuarkusTestResource(value = MirrorRoleServers.class, restrictToAnnotatedClass = true)
class UnapplicableMessageTest {
    @Inject
    Applier applier;

    @Test
    void aMessageWithAKeyPostgresCannotStoreIsParkedAndTheLogAppliedPastIt() throws Exception {
        try (LogWriter log = new LogWriter(); Connection db = AppDatabase.connect(); Statement s = db.createStatement()) {
            long bad = log.append(log.txn(LogWriter.put("nul\u0000key", "1")));
            long next = log.append(log.txn(LogWriter.put("after-nul", "2")));
            Http.await(() -> applier.appliedSequence() >= next, "applied past the message at " + bad);
            assertEquals("2", AppDatabase.storedValue("after-nul"));
            assertEquals(1, applier.deadLetters(), "the message parked");
            try (ResultSet rs = s.executeQuery("select seq, reason from dead_letters")) {
                assertTrue(rs.next(), "a dead_letters row");
                assertEquals(bad, rs.getLong(1));
                assertTrue(rs.getString(2).contains("U+0000"), rs.getString(2));
            }
        }
    }
}
