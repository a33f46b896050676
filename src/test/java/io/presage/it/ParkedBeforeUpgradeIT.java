package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.presage.it.JsonHttp.Answer;
import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;

/**
 * A message of a newer batch format (a coordinator upgraded first wrote it) is parked by a node of the
 * build before; once that node runs a build that reads the format, it applies the message on start, in
 * log order (before the later message that overwrote one of its keys), and goes on: nothing lost, no
 * {@code apply_state.last_seq} set back by hand. The node is a coordinator, as packaged, in its own
 * process; "the build that reads the newer format" is the same jar with the test seam
 * {@code io.presage.test.reader-format-version=2} (see BatchCodec), since no format 2 exists yet.
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class ParkedBeforeUpgradeIT {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    /** The JVM option that makes the node the build that reads format 2. */
    static final Map<String, String> UPGRADED = Map.of("JAVA_TOOL_OPTIONS", "-Dio.presage.test.reader-format-version=2");

    /** {@code env} and {@link #UPGRADED}: the build that reads the newer format, with more environment. */
    static Map<String, String> upgraded(Map<String, String> env) {
        Map<String, String> e = new HashMap<>(env);
        e.putAll(UPGRADED);
        return e;
    }
    private final Path logDir = NodeProcess.BASE_DIR.resolve("target/parked-upgrade-it");

    @Test
    void aNodeUpgradedToReadAParkedMessageAppliesItOnStartInLogOrder() throws Exception {
        coordinatorUpgradedAfterParking("upg", (pg, db, parked) -> {
        }, (upgraded, pg, db) -> {
            assertEquals("1", stored(pg, db, "select count(*) from txn_ids where txn_id = 'upg-id'"), "with its idempotency id");
            Answer retry = JsonHttp.send(JsonHttp.post(upgraded.uri("/v1/transactions"),
                    "{\"id\":\"upg-id\",\"reads\":[],\"writes\":[{\"key\":\"upg-b\",\"value\":9}]}"));
            assertEquals(200, retry.status(), retry.toString());
            assertEquals(2, upgraded.number("upg-b"), "the parked commit's retry is answered by it, not committed again");
        });
    }

    /**
     * The same at a mirror, whose applier is the coordinator's with the mirror's hook on it: the coordinator
     * was upgraded first and reads the newer format; the mirror of the build before parks the message, and
     * once upgraded applies it on start, in log order, and serves its writes from its own database.
     */
    @Test
    void aMirrorUpgradedToReadAParkedMessageAppliesItOnStartInLogOrder() throws Exception {
        NatsTestServer nats = NatsTestServer.start();
        NodeProcess coordinator = null;
        NodeProcess old = null;
        NodeProcess upgraded = null;
        try (LogWriter writer = new LogWriter(nats.url(), "MIRROR_LOG")) {
            PostgresTestServer pg = PostgresTestServer.get();
            coordinator = NodeProcess.coordinator("coordinator", nats, pg, pg.createDatabase(), logDir, UPGRADED);
            coordinator.start();
            coordinator.awaitReady(READY_TIMEOUT);
            Answer first = JsonHttp.send(JsonHttp.put(coordinator.uri("/v1/kv/mupg-a"), "1"));
            assertEquals(200, first.status(), first.toString());
            String db = pg.createDatabase();
            old = NodeProcess.mirror("mirror1", coordinator, nats, pg, db, logDir);
            old.start();
            old.awaitReady(READY_TIMEOUT);

            long later = parkedThenOverwritten(writer, old, "mupg").later();
            old.stop();

            upgraded = NodeProcess.mirror("mirror1", coordinator, nats, pg, db, logDir, UPGRADED);
            upgraded.start();
            upgraded.awaitReady(READY_TIMEOUT);
            appliedInLogOrder(upgraded, later, pg, db, "mupg");
        } finally {
            NodeProcess.stopAll(upgraded, old, coordinator);
            nats.close();
        }
    }

    /**
     * An upgraded start sets the position back to just before the parked message, in a transaction of its own,
     * then applies the log from there, clearing the message's {@code dead_letters} row as it applies it. Killed
     * between the two, it left the position there, and its next start did not count the row as one to clear
     * (the position was no longer past it): the message was applied but its row stayed, and the node was not
     * ready, as if a message were still parked, until yet another restart. The state that kill leaves is made
     * here by hand, exactly: the position at the parked message less one, its row in place.
     */
    @Test
    void aNodeKilledRightAfterSettingItsPositionBackForAParkedMessageClearsItOnItsNextStart() throws Exception {
        coordinatorUpgradedAfterParking("kup",
                (pg, db, parked) -> execute(pg, db, "update apply_state set last_seq = " + (parked.parked() - 1) + " where id = 1"),
                (upgraded, pg, db) -> {
                });
    }

    /** What happens to the database between the old build's stop and the upgraded build's start. */
    private interface Meanwhile {
        void run(PostgresTestServer pg, String db, Parked parked) throws Exception;
    }

    /** More checks of the upgraded node, once it has applied both messages in log order. */
    private interface Then {
        void run(NodeProcess upgraded, PostgresTestServer pg, String db) throws Exception;
    }

    /**
     * A packaged coordinator of the build before parks a message of the newer format ({@link #parkedThenOverwritten})
     * and stops; {@code meanwhile}; the upgraded build starts on the same database, is ready and has applied both
     * messages in log order ({@link #appliedInLogOrder}); then {@code then}.
     */
    private void coordinatorUpgradedAfterParking(String prefix, Meanwhile meanwhile, Then then) throws Exception {
        NatsTestServer nats = NatsTestServer.start();
        NodeProcess old = null;
        NodeProcess upgraded = null;
        try (LogWriter writer = new LogWriter(nats.url(), "MIRROR_LOG")) {
            PostgresTestServer pg = PostgresTestServer.get();
            String db = pg.createDatabase();
            old = NodeProcess.coordinator("coordinator", nats, pg, db, logDir, Map.of());
            old.start();
            old.awaitReady(READY_TIMEOUT);
            Answer first = JsonHttp.send(JsonHttp.put(old.uri("/v1/kv/" + prefix + "-a"), "1"));
            assertEquals(200, first.status(), first.toString());

            Parked parked = parkedThenOverwritten(writer, old, prefix);
            old.stop();
            meanwhile.run(pg, db, parked);

            upgraded = NodeProcess.coordinator("coordinator", nats, pg, db, logDir, UPGRADED);
            upgraded.start();
            upgraded.awaitReady(READY_TIMEOUT);
            appliedInLogOrder(upgraded, parked.later(), pg, db, prefix);
            then.run(upgraded, pg, db);
        } finally {
            NodeProcess.stopAll(old, upgraded);
            nats.close();
        }
    }

    /** The sequences of the message parked and of the later one that overwrote one of its keys. */
    private record Parked(long parked, long later) {
    }

    /**
     * Appends a message of the newer format writing {@code prefix-a} and {@code prefix-b} = 2 under id
     * {@code prefix-id}, then one writing {@code prefix-a} = 3; returns both sequences, once {@code old} has
     * applied the later one and parked the first.
     */
    private static Parked parkedThenOverwritten(LogWriter writer, NodeProcess old, String prefix) throws Exception {
        long parked = writer.appendRaw(LogWriter.newerFormat(writer.txn(prefix + "-id",
                LogWriter.put(prefix + "-a", "2"), LogWriter.put(prefix + "-b", "2"))));
        long later = writer.append(writer.txn(LogWriter.put(prefix + "-a", "3")));
        old.awaitAppliedUpTo(later, READY_TIMEOUT);
        assertEquals(1, old.status().path("deadLetters").asLong(), "the old build parks message " + parked);
        return new Parked(parked, later);
    }

    /** What {@link #parkedThenOverwritten} wrote, as {@code upgraded} holds it: both messages, in log order. */
    private static void appliedInLogOrder(NodeProcess upgraded, long later, PostgresTestServer pg, String db, String prefix)
            throws Exception {
        upgraded.awaitAppliedUpTo(later, READY_TIMEOUT);
        assertEquals(0, upgraded.status().path("deadLetters").asLong(), "nothing parked once it can be read");
        assertEquals(3, upgraded.number(prefix + "-a"), "the later message's write stays the key's value (log order)");
        assertEquals(2, upgraded.number(prefix + "-b"), "the parked message's write is applied");
        assertEquals("0", stored(pg, db, "select count(*) from dead_letters"), "its dead_letters row is gone");
        assertEquals("2", stored(pg, db, "select item_value from items where item_key = '" + prefix + "-b'"),
                "in the node's own database, not only in its memory");
    }

    private static void execute(PostgresTestServer pg, String db, String sql) throws Exception {
        try (java.sql.Connection c = pg.connect(db);
             java.sql.Statement st = c.createStatement()) {
            assertEquals(1, st.executeUpdate(sql), sql);
        }
    }

    /** The one value {@code sql} selects from database {@code db}, as text. */
    private static String stored(PostgresTestServer pg, String db, String sql) throws Exception {
        try (java.sql.Connection c = pg.connect(db);
             java.sql.Statement st = c.createStatement();
             java.sql.ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
