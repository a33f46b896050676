package io.presage.it;

import static io.presage.it.Http.assertUnavailable;
import static io.presage.it.Http.awaitApplied;
import static io.presage.it.Http.awaitStatus;
import static io.presage.it.Http.post;
import static io.presage.it.Http.put;
import static io.presage.it.Http.sequenceOf;
import static io.presage.it.Http.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;

/**
 * Recovery meets a log message it cannot decode: here one from a coordinator of a newer format, which
 * acknowledged its commit ({@code undec-k} = 2, under an idempotency id) to its client. Nothing here can
 * know what it wrote, so a rebuilt certifier would not know {@code undec-k} was overwritten: it would
 * commit a transaction that read {@code undec-k} = 1 over it (a lost update) and commit the id's retry a
 * second time. The coordinator must refuse commits until an operator has dealt with the message, first
 * while its applier has not reached it, then while it is parked in {@code dead_letters}.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true)
class UndecodableReplayTest {

    @Test
    void aMessageRecoveryCannotDecodeStopsCommitsUntilAnOperatorHasDealtWithIt() throws Exception {
        Http.awaitReady(Duration.ofSeconds(60));
        Response first = put("undec-k", "1");
        assertEquals(200, first.statusCode(), first.asString());
        awaitApplied(sequenceOf(first));
        long read = Http.version("undec-k");
        String readModifyWrite = "{\"reads\":[{\"key\":\"undec-k\",\"version\":" + read + "}],"
                + "\"writes\":[{\"key\":\"undec-k\",\"value\":3}]}";
        String retryOfTheNewerCommit = "{\"id\":\"undec-id\",\"reads\":[],\"writes\":[{\"key\":\"undec-k\",\"value\":2}]}";

        long parked;
        try (Connection hold = AppDatabase.connect(); LogWriter newer = new LogWriter()) {
            // The applier cannot move its position (reads of it still can): the message stays ahead of
            // the database, and recovery replays it.
            hold.setAutoCommit(false);
            try (Statement s = hold.createStatement()) {
                s.execute("set local lock_timeout = '10s'");
                s.execute("lock table apply_state in exclusive mode");
            }
            parked = newer.appendRaw(LogWriter.newerFormat(newer.txn("undec-id", LogWriter.put("undec-k", "2"))));
            // The foreign message fences the coordinator's next commit, which makes it rebuild from the log.
            assertUnavailable(put("undec-fenced", "9"));
            awaitStatus(s -> "READY".equals(s.getString("state")) || s.getString("detail").contains("cannot be decoded"),
                    "recovery through message " + parked);

            Response lostUpdate = post("/v1/transactions", readModifyWrite);
            assertEquals(503, lostUpdate.statusCode(), "certified without the write it could not read: " + lostUpdate.asString());
            assertUnavailable(post("/v1/transactions", retryOfTheNewerCommit));
            String detail = status().getString("detail");
            assertTrue(detail.contains("log message " + parked + " cannot be decoded"), detail);
            assertNotEquals("READY", status().getString("state"));
            hold.rollback();
        }

        // The applier parks it; the coordinator still refuses, and says where the operator looks.
        awaitStatus(s -> s.getLong("deadLetters") == 1 && s.getString("detail").contains("parked in dead_letters;"),
                "the message parked and recovery waiting on it");
        assertNotEquals("READY", status().getString("state"));
        assertUnavailable(post("/v1/transactions", readModifyWrite));

        // The operator has looked at it and removes its row: recovery goes on without its writes.
        try (Connection db = AppDatabase.connect(); Statement s = db.createStatement()) {
            assertEquals(1, s.executeUpdate("delete from dead_letters where seq = " + parked));
        }
        awaitStatus(s -> "READY".equals(s.getString("state")), "READY once the parked message is dealt with");
        Response after = put("undec-after", "4");
        assertEquals(200, after.statusCode(), after.asString());
        assertTrue(sequenceOf(after) > parked);
    }
}
