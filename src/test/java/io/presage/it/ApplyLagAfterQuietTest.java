package io.presage.it;

import static io.presage.it.LogWriter.put;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.presage.apply.Applier;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The apply lag (presage_apply_lag_seconds, the applier's health data) is the age of what is not applied yet.
 * After a quiet spell it was the age of the last message applied before it: the first page after an hour's
 * silence read as an hour behind while it was applied, and for as long as that apply failed. The page is held
 * here by a row lock on the applier's position.
 */
@QuarkusTest
@QuarkusTestResource(value = MirrorRoleServers.class, restrictToAnnotatedClass = true)
class ApplyLagAfterQuietTest {
    @Inject
    Applier applier;

    @Test
    void theFirstMessageAfterAQuietSpellIsAsOldAsItIsNotAsTheOneBeforeIt() throws Exception {
        Http.awaitReady(java.time.Duration.ofSeconds(60));
        try (LogWriter log = new LogWriter(); Connection hold = AppDatabase.connect(); Statement h = hold.createStatement()) {
            long a = log.append(log.txn(put("quiet-a", "1")));
            Http.await(() -> applier.appliedSequence() >= a, "applied " + a);
            Thread.sleep(3_000); // quiet
            hold.setAutoCommit(false);
            h.execute("select 1 from apply_state where id = 1 for update"); // the next chunk waits here
            long b = log.append(log.txn(put("quiet-b", "2")));
            long appendedAt = System.nanoTime();
            AppDatabase.awaitSessionWaitingOnALock();
            // A few ms may pass before the lag shows: both clocks count in whole milliseconds.
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            while (applier.lagSeconds() == 0 && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            double lag = applier.lagSeconds();
            double sinceAppend = (System.nanoTime() - appendedAt) / 1e9;
            assertTrue(lag > 0, "behind while message " + b + " waits: " + lag + " (applied " + applier.appliedSequence()
                    + ", error " + applier.lastError() + ")");
            assertTrue(lag <= sinceAppend + 0.5, "message " + b + " was appended " + sinceAppend + " s ago, not " + lag
                    + " s (the age of message " + a + ", applied before the quiet spell)");
            hold.rollback();
            Http.await(() -> applier.appliedSequence() >= b, "applied " + b);
            assertEquals("2", AppDatabase.storedValue("quiet-b"));
        }
    }
}
