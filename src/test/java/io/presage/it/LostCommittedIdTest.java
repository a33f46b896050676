package io.presage.it;

import static io.presage.it.Http.awaitApplied;
import static io.presage.it.Http.post;
import static io.presage.it.Http.sequenceOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.presage.coord.CoordinatorEngine;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;

/**
 * The coordinator's database loses commits while the coordinator runs (restored from a backup, failed
 * over to a replica that lacked them), and the log stays quiet. Memory had forgotten an idempotency id
 * (beyond {@code presage.group-commit.remembered-ids}, here 4) because the store held it; the store no
 * longer does. Before: a retry under that id found it nowhere and committed a second time, and the
 * applier, waiting for a next message, never applied the lost range again. Now the lookup is refused
 * (503) while the store is below what memory forgot, and an idle applier notices the lower position
 * within a second and applies the log again from it, after which the retry gets the first commit.
 */
@QuarkusTest
@QuarkusTestResource(value = RealServers.class, restrictToAnnotatedClass = true,
        initArgs = @ResourceArg(name = "presage.group-commit.remembered-ids", value = "4"))
class LostCommittedIdTest {
    @Inject
    CoordinatorEngine engine;

    @Test
    void anIdTheDatabaseLostOnAQuietLogIsNeverCommittedTwice() throws Exception {
        Http.awaitReady(java.time.Duration.ofSeconds(60));
        Response before = post("/v1/transactions", txn("lost-before", "lost-other", 0));
        assertEquals(200, before.statusCode(), before.asString());
        long backupAt = sequenceOf(before);
        awaitApplied(backupAt);
        try (Connection db = AppDatabase.connect(); Statement s = db.createStatement()) {
            s.execute("create table lost_items_backup as select * from items"); // the backup, at backupAt
            s.execute("create table lost_ids_backup as select * from txn_ids");

            String body = txn("lost-x", "lost-k", 1);
            Response first = post("/v1/transactions", body);
            assertEquals(200, first.statusCode(), first.asString());
            long committedAt = first.jsonPath().getLong("timestamp");
            long last = 0;
            for (int i = 0; i < 8; i++) { // ids enough that memory forgets lost-x, each applied in turn
                last = sequenceOf(post("/v1/transactions", txn("lost-filler-" + i, "lost-filler-" + i, i)));
                awaitApplied(last);
            }
            assertFalse(engine.knowsId("lost-x"), "memory forgot lost-x: the store answers for it");

            // The database is restored to the backup; nothing more is appended.
            s.execute("delete from items");
            s.execute("insert into items select * from lost_items_backup");
            s.execute("delete from txn_ids");
            s.execute("insert into txn_ids select * from lost_ids_backup");
            s.execute("update apply_state set last_seq = " + backupAt + " where id = 1");

            List<String> answers = new ArrayList<>();
            Response retry;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            do {
                retry = post("/v1/transactions", body);
                answers.add(retry.statusCode() + " " + retry.jsonPath().getString("status"));
                if (retry.statusCode() == 200) {
                    break;
                }
                assertEquals(503, retry.statusCode(), "while the store lacks the lost range: " + retry.asString());
                Thread.sleep(100);
            } while (System.nanoTime() < deadline);
            assertEquals(200, retry.statusCode(), "the retry is answered once the applier applied the lost range: " + answers);
            assertEquals(committedAt, retry.jsonPath().getLong("timestamp"),
                    "the first commit, not a second one: " + retry.asString() + " after " + answers);
            awaitApplied(last);
            assertEquals("7", AppDatabase.storedValue("lost-filler-7"), "the lost range applied again on a quiet log");
        }
    }

    private static String txn(String id, String key, int value) {
        return "{\"id\":\"" + id + "\",\"writes\":[{\"key\":\"" + key + "\",\"value\":" + value + "}]}";
    }
}
