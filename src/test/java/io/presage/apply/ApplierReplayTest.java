package io.presage.apply;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import jakarta.inject.Inject;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;
import org.junit.jupiter.api.Test;

import io.nats.client.JetStreamManagement;
import io.nats.client.Nats;
import io.nats.client.Subscription;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.DeliverPolicy;
import io.presage.certify.Hlc;
import io.presage.it.MirrorRoleServers;
import io.presage.log.BatchCodec;
import io.presage.log.JetStreamLog;
import io.presage.log.LogBatch;
import io.presage.log.LogConfig;
import io.presage.log.LogMessage;
import io.presage.log.LogTxn;
import io.presage.log.LogWrite;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;

/**
 * The applier against a real JetStream and PostgreSQL: a crash between the database commit and the
 * JetStream ack means messages already applied are delivered again, and applying them again must
 * change nothing. The node runs as a mirror (no coordinator), so the test is the log's only writer.
 */
@QuarkusTest
@QuarkusTestResource(value = MirrorRoleServers.class, restrictToAnnotatedClass = true)
class ApplierReplayTest {

    private static final String DURABLE = "apply-mirror-1";

    @Inject
    Applier applier;
    @Inject
    ItemStore store;

    private final Hlc hlc = new Hlc();
    private final BatchCodec codec = new BatchCodec();
    private long batches;

    @Test
    void messagesDeliveredAgainAfterACrashBetweenCommitAndAckChangeNothing() throws Throwable {
        Config config = ConfigProvider.getConfig();
        String stream = config.getValue("presage.nats.stream", String.class);
        try (JetStreamLog writer = writer();
                io.nats.client.Connection nc = Nats.connect(config.getValue("presage.nats.url", String.class))) {
            // Overwrites within a message and across messages, a delete, idempotency ids, and an
            // undecodable message that gets parked.
            append(writer, txn("r-1", LogWrite.put("a", json("1")), LogWrite.put("b", json("1"))),
                    txn(null, LogWrite.put("a", json("2"))));
            append(writer, txn("r-2", LogWrite.put("b", json("2")), LogWrite.put("c", json("1"))));
            long garbage = append(writer, "not a batch".getBytes(UTF_8));
            append(writer, txn("r-3", LogWrite.remove("c")), txn(null, LogWrite.put("d", json("{\"x\":[1,2]}"))));
            long last = append(writer, txn(null, LogWrite.put("a", json("3"))));
            await(() -> applier.appliedSequence() == last, "applied up to " + last);
            Snapshot before = snapshot();
            assertEquals(last, before.lastSeq());
            assertEquals(List.of("a=3", "b=2", "c=null", "d={\"x\":[1,2]}"), before.values());
            assertEquals(List.of(garbage), before.deadLetterSeqs());
            assertEquals(1, before.deadLettersInMemory());

            // The crash: the database holds everything, JetStream's position does not (the acks never
            // arrived). Re-creating the durable consumer at sequence 1 makes it deliver them all again.
            Subscription parkedAgain = nc.subscribe(config.getValue("presage.apply.dead-letter-subject", String.class));
            nc.flush(Duration.ofSeconds(5));
            JetStreamManagement jsm = nc.jetStreamManagement();
            jsm.deleteConsumer(stream, DURABLE);
            jsm.addOrUpdateConsumer(stream, ConsumerConfiguration.builder().durable(DURABLE)
                    .ackPolicy(AckPolicy.Explicit).ackWait(Duration.ofSeconds(30))
                    .deliverPolicy(DeliverPolicy.ByStartSequence).startSequence(1).build());
            await(() -> {
                ConsumerInfo info = consumerInfo(jsm, stream);
                return info.getConsumerConfiguration().getStartSequence() == 1
                        && info.getDelivered().getConsumerSequence() >= last
                        && info.getAckFloor().getStreamSequence() == last && info.getNumAckPending() == 0;
            }, "every message delivered again and acknowledged");
            assertEquals(before, snapshot(), "the redelivery changed nothing");
            assertNull(parkedAgain.nextMessage(Duration.ofMillis(500)), "the garbage is not parked twice");

            // Below the loop's skip, the database transaction itself: the same messages again, and
            // the oldest one alone after the newest, move no key and not the position backwards.
            List<LogMessage> decodable = new ArrayList<>();
            for (LogMessage m : writer.fetch(1, 100, Duration.ofSeconds(2))) {
                if (m.sequence() != garbage) {
                    decodable.add(m);
                }
            }
            applier.apply(decodable);
            applier.apply(List.of(decodable.get(0)));
            assertEquals(before, snapshot(), "a replayed transaction is a no-op");

            // And the applier carries on after the replay.
            long next = append(writer, txn("r-4", LogWrite.put("a", json("4"))));
            await(() -> applier.appliedSequence() == next, "applied up to " + next);
            Snapshot after = snapshot();
            assertEquals(next, after.lastSeq());
            assertEquals("a=4", after.values().get(0));
            assertEquals(before.ids().size() + 1, after.ids().size());
        }
    }

    @Test
    void everyIdOfAChunkIsStoredWithItsResultAndAnIdSeenTwiceKeepsItsFirstOutcome() throws Throwable {
        try (JetStreamLog writer = writer()) {
            // 300 ids in three messages (one chunk or several, as the applier gathers them), every
            // other one with a procedure result; "dup" twice in one message and once in a later one.
            long first = 0;
            long last = 0;
            for (int m = 0; m < 3; m++) {
                List<LogTxn> txns = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    int n = m * 100 + i;
                    long ts = hlc.next();
                    txns.add(new LogTxn(ts, "many-" + n, n % 3 == 0, "writer", List.of(LogWrite.put("many", json("" + n))),
                            Map.of("writer", ts), List.of(), n % 2 == 0 ? "{\"n\":" + n + "}" : null));
                }
                if (m < 2) {
                    long ts = hlc.next();
                    txns.add(new LogTxn(ts, "dup", false, "writer", List.of(LogWrite.put("dup", json("" + m))),
                            Map.of("writer", ts), List.of(), "{\"m\":" + m + "}"));
                }
                if (m == 0) {
                    long ts = hlc.next();
                    txns.add(new LogTxn(ts, "dup", true, "writer", List.of(LogWrite.put("dup", json("9"))),
                            Map.of("writer", ts), List.of(), "{\"second\":true}"));
                }
                last = append(writer, txns.toArray(LogTxn[]::new));
                first = first == 0 ? last : first;
            }
            long upTo = last;
            await(() -> applier.appliedSequence() >= upTo, "applied up to " + upTo);
            try (Connection c = connection(); Statement s = c.createStatement()) {
                assertEquals(List.of("300"), rows(s, "select count(*) from txn_ids where txn_id like 'many-%'"));
                assertEquals(List.of("many-7|f||" + first), rows(s,
                        "select txn_id, adjusted, coalesce(result, ''), seq from txn_ids where txn_id = 'many-7'"));
                assertEquals(List.of("many-204|t|{\"n\":204}|" + last), rows(s,
                        "select txn_id, adjusted, result, seq from txn_ids where txn_id = 'many-204'"));
                assertEquals(List.of("f|{\"m\":0}|" + first), rows(s, "select adjusted, result, seq from txn_ids where txn_id = 'dup'"),
                        "the first of the three commits under one id is the one remembered");
            }
        }
    }

    /**
     * Ids share one namespace: a committed attempt {@code "<id>#n"} of a procedure call is stored under the
     * call's id {@code "<id>"} too, so a later transaction under the call's id finds the call with one
     * lookup. An id stored before (a plain transaction under it) keeps its own outcome, and ids that only
     * look like attempts ({@code #8}, {@code #12}) are stored as they are. Migration V7 adds the call rows
     * for attempts stored before it; run again here over a row taken out, it puts it back.
     */
    @Test
    void aCommittedAttemptIsStoredUnderItsCallsIdTooUnlessThatIdCommittedFirst() throws Throwable {
        try (JetStreamLog writer = writer()) {
            long plainTs = hlc.next();
            append(writer, txn(plainTs, "ns-plain", null));
            long callTs = hlc.next();
            long ts2 = hlc.next();
            long ts3 = hlc.next();
            long ts4 = hlc.next();
            long seq = append(writer, txn(callTs, "ns-call#2", "{\"r\":1}"), txn(ts2, "ns-plain#0", "{\"r\":2}"),
                    txn(ts3, "ns-big#8", null), txn(ts4, "ns-big#12", null));
            await(() -> applier.appliedSequence() >= seq, "applied up to " + seq);
            String calls = "select txn_id, ts, result, seq from txn_ids where txn_id like 'ns-%' and txn_id not like '%#%' order by txn_id";
            try (Connection c = connection(); Statement s = c.createStatement()) {
                List<String> expected = List.of("ns-call|" + callTs + "|{\"r\":1}|" + seq, "ns-plain|" + plainTs + "||" + (seq - 1));
                assertEquals(expected, rows(s, calls.replace("result", "coalesce(result, '')")));
                assertEquals(List.of("6"), rows(s, "select count(*) from txn_ids where txn_id like 'ns-%'"), "no call row for #8 or #12");

                s.executeUpdate("delete from txn_ids where txn_id = 'ns-call'");
                try (var in = getClass().getResourceAsStream("/db/migration/V7__txn_ids_call_rows.sql")) {
                    s.executeUpdate(new String(in.readAllBytes(), UTF_8));
                }
                assertEquals(expected, rows(s, calls.replace("result", "coalesce(result, '')")), "the migration's rows are the applier's");
            }
        }
    }

    private LogTxn txn(long ts, String id, String result) {
        return new LogTxn(ts, id, false, "writer", List.of(LogWrite.put(id, json("1"))), Map.of("writer", ts), List.of(), result);
    }

    @Test
    void aGapWhoseMessagesTheStreamNoLongerHoldsFailsInsteadOfBeingSkipped() throws Throwable {
        Config config = ConfigProvider.getConfig();
        String stream = config.getValue("presage.nats.stream", String.class);
        try (JetStreamLog writer = writer();
                io.nats.client.Connection nc = Nats.connect(config.getValue("presage.nats.url", String.class))) {
            long first = append(writer, txn(null, LogWrite.put("gap", json("1"))));
            long middle = append(writer, txn(null, LogWrite.put("gap", json("2"))));
            long last = append(writer, txn(null, LogWrite.put("gap", json("3"))));
            assertEquals(List.of(first, middle, last), applier.fillGap(first, last).stream().map(LogMessage::sequence).toList(),
                    "a gap the stream holds is filled, in order");
            // An operator deleted a message (or a limit aged it out): the gap cannot be filled. Deleted
            // only once the live applier is past it: else it stops there too (rightly), and with it the
            // tests after this one.
            await(() -> applier.appliedSequence() >= last, "applied up to " + last);
            assertTrue(nc.jetStreamManagement().deleteMessage(stream, middle));
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> applier.fillGap(first, last));
            assertTrue(e.getMessage().contains("log message " + middle + " is missing"), e.getMessage());
        }
    }

    /**
     * A consumer ahead of the database (a database restored from a backup, say) leaves a gap, which can
     * be most of the stream: it is read and applied a chunk of {@code batch-messages} at a time, each
     * its own transaction, in log order, never held in memory whole.
     */
    @Test
    void aGapIsAppliedAChunkAtATimeInLogOrder() throws Throwable {
        Config config = ConfigProvider.getConfig();
        String stream = config.getValue("presage.nats.stream", String.class);
        int chunk = config.getValue("presage.apply.batch-messages", Integer.class);
        List<Long> positions = new CopyOnWriteArrayList<>();
        applier.onApplied(positions::add);
        try (JetStreamLog writer = writer();
                io.nats.client.Connection nc = Nats.connect(config.getValue("presage.nats.url", String.class))) {
            long before = append(writer, txn(null, LogWrite.put("chunked", json("0"))));
            await(() -> applier.appliedSequence() == before, "applied up to " + before);
            int messages = 3 * chunk + 10;
            long last = before;
            try (Connection hold = connection()) {
                // The applier takes a page and waits on the lock; meanwhile its consumer jumps to the end.
                hold.setAutoCommit(false);
                try (Statement s = hold.createStatement()) {
                    s.execute("lock table apply_state in access exclusive mode");
                }
                for (int i = 1; i <= messages; i++) {
                    last = append(writer, txn(null, LogWrite.put("chunked", json(Integer.toString(i)))));
                }
                JetStreamManagement jsm = nc.jetStreamManagement();
                jsm.deleteConsumer(stream, DURABLE);
                jsm.addOrUpdateConsumer(stream, ConsumerConfiguration.builder().durable(DURABLE)
                        .ackPolicy(AckPolicy.Explicit).ackWait(Duration.ofSeconds(30))
                        .deliverPolicy(DeliverPolicy.ByStartSequence).startSequence(last).build());
                hold.rollback();
            }
            long end = last;
            await(() -> applier.appliedSequence() == end, "applied up to " + end);
            try (Connection c = connection(); Statement s = c.createStatement()) {
                assertEquals(List.of(Integer.toString(messages)), rows(s, "select item_value from items where item_key = 'chunked'"),
                        "every message of the gap applied, the last one last");
            }
            long previous = before;
            long widest = 0;
            for (long p : positions) {
                if (p > before) {
                    widest = Math.max(widest, p - previous);
                    previous = p;
                }
            }
            assertEquals(end, previous);
            assertTrue(widest <= chunk, "no transaction applied more than " + chunk + " messages: " + positions);
            assertTrue(positions.stream().filter(p -> p > before).count() >= 4, "the gap took several: " + positions);
        }
    }

    /**
     * A page whose messages declare more than {@link Applier#CHUNK_DECODE_BYTES} of payload between them
     * is applied in parts, each decoded and written on its own: three messages of 7.5 MB (a few kB each
     * once compressed) that come in one page are applied as the first two, then the third. The applier is
     * held on a lock while they are appended, so that they come in one page.
     */
    @Test
    void aPageOfMoreDeclaredPayloadThanAChunkDecodesIsAppliedInParts() throws Throwable {
        List<Long> positions = new CopyOnWriteArrayList<>();
        applier.onApplied(positions::add);
        String big = "\"" + "x".repeat(7_500_000) + "\"";
        assertTrue(3L * big.length() > Applier.CHUNK_DECODE_BYTES && 2L * big.length() < Applier.CHUNK_DECODE_BYTES);
        try (JetStreamLog writer = writer(); Connection hold = connection()) {
            hold.setAutoCommit(false);
            try (Statement s = hold.createStatement()) {
                s.execute("lock table apply_state in access exclusive mode");
            }
            // The applier takes this one and waits on the lock; the three come in its next page.
            long trigger = append(writer, txn(null, LogWrite.put("parts-trigger", json("1"))));
            try (Connection c = connection(); Statement s = c.createStatement()) {
                await(() -> waitingOnApplyState(s), "the applier waiting on the lock");
            }
            long first = append(writer, txn(null, LogWrite.put("parts-1", json(big))));
            long second = append(writer, txn(null, LogWrite.put("parts-2", json(big))));
            long third = append(writer, txn(null, LogWrite.put("parts-3", json(big))));
            hold.rollback();
            await(() -> applier.appliedSequence() >= third, "applied up to " + third);
            List<Long> after = positions.stream().filter(p -> p > trigger).toList();
            assumeTrue(!after.contains(first), "the three came in more than one page: " + positions);
            assertEquals(List.of(second, third), after, "applied as the first two, then the third: " + positions);
        }
        try (Connection c = connection(); Statement s = c.createStatement()) {
            assertEquals(List.of("parts-1|7500002", "parts-2|7500002", "parts-3|7500002"), rows(s,
                    "select item_key, length(item_value) from items where item_key like 'parts-_' order by item_key"));
        }
    }

    private static boolean waitingOnApplyState(Statement s) {
        try {
            return !rows(s, "select 1 from pg_locks where relation = 'apply_state'::regclass and not granted").isEmpty();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The retention's delete (IdRetention): only ids stored longer ago than the age, by when they were
     * stored (not their commit timestamps: an adjusted commit's lies in the past), the oldest first, at
     * most the limit per call, so a sweep of a large backlog is many short transactions.
     */
    @Test
    void forgettingIdsDeletesOnlyThoseStoredBeforeTheAgeOldestFirstAtMostTheLimit() throws Throwable {
        Duration age = Duration.ofDays(1);
        long older;
        try (Connection c = connection(); Statement s = c.createStatement()) {
            // gone-1 and gone-2 were stored 3 and 2 days ago; keep-3 just now, at a commit timestamp far
            // older than theirs (an adjusted one).
            s.execute("insert into txn_ids (txn_id, ts, adjusted, seq, stored_at) values "
                    + "('keep-3', 1, true, 1, now()), "
                    + "('gone-2', 3, false, 1, now() - interval '2 days'), "
                    + "('gone-1', 2, false, 1, now() - interval '3 days')");
            older = Long.parseLong(rows(s, "select count(*) from txn_ids "
                    + "where stored_at < (select stored_at from txn_ids where txn_id = 'gone-1')").get(0));
        }
        assertEquals((int) older + 1, store.forgetIdsStoredBefore(age, (int) older + 1).await().atMost(Duration.ofSeconds(10)));
        try (Connection c = connection(); Statement s = c.createStatement()) {
            assertEquals(List.of("gone-2", "keep-3"),
                    rows(s, "select txn_id from txn_ids where txn_id in ('gone-1', 'gone-2', 'keep-3') order by stored_at"),
                    "the oldest went first, up to the limit");
        }
        assertEquals(1, store.forgetIdsStoredBefore(age, 10).await().atMost(Duration.ofSeconds(10)));
        assertEquals(0, store.forgetIdsStoredBefore(age, 10).await().atMost(Duration.ofSeconds(10)), "nothing older left");
        assertEquals(1, store.findTxn("keep-3").await().atMost(Duration.ofSeconds(10)).timestamp(),
                "the id stored within the age stays, however old its commit timestamp");
    }

    // ---- helpers ------------------------------------------------------------------------------

    /** A second writer of the node's log stream: the test is the log's only writer. */
    private static JetStreamLog writer() {
        Config config = ConfigProvider.getConfig();
        return JetStreamLog.connect(LogConfig.defaults(config.getValue("presage.nats.url", String.class))
                .withStreamName(config.getValue("presage.nats.stream", String.class)).withPublishTimeout(Duration.ofSeconds(5)));
    }

    private static byte[] json(String s) {
        return s.getBytes(UTF_8);
    }

    private LogTxn txn(String id, LogWrite... writes) {
        long ts = hlc.next();
        return new LogTxn(ts, id, false, "writer", List.of(writes), Map.of("writer", ts), List.of());
    }

    private long append(JetStreamLog log, LogTxn... txns) throws Exception {
        return append(log, codec.encode(LogBatch.of("writer", 1, 0, ++batches, List.of(txns))));
    }

    private static long append(JetStreamLog log, byte[] payload) throws Exception {
        long lastSeq = log.lastSequence();
        return log.append(JetStreamLog.subjectFor(0), payload, "m-" + (lastSeq + 1), lastSeq)
                .get(10, TimeUnit.SECONDS).sequence();
    }

    private static ConsumerInfo consumerInfo(JetStreamManagement jsm, String stream) {
        try {
            return jsm.getConsumerInfo(stream, DURABLE);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static void await(BooleanSupplier condition, String what) {
        try {
            io.presage.testing.Await.until(condition, what, 30, 20);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Everything the applier writes, as the database and the applier itself report it. */
    record Snapshot(List<String> items, List<String> values, long lastSeq, List<String> ids, List<Long> deadLetterSeqs,
            long appliedInMemory, long deadLettersInMemory) {
    }

    private Snapshot snapshot() throws SQLException {
        try (Connection c = connection(); Statement s = c.createStatement()) {
            return new Snapshot(
                    rows(s, "select item_key, item_value, version, vclock, seq from items order by item_key"),
                    rows(s, "select item_key || '=' || coalesce(item_value, 'null') from items order by item_key"),
                    Long.parseLong(rows(s, "select last_seq from apply_state").get(0)),
                    rows(s, "select txn_id, ts, adjusted, seq from txn_ids order by txn_id"),
                    rows(s, "select seq from dead_letters order by seq").stream().map(Long::valueOf).toList(),
                    applier.appliedSequence(), applier.deadLetters());
        }
    }

    private static Connection connection() throws SQLException {
        Config config = ConfigProvider.getConfig();
        return DriverManager.getConnection(config.getValue("quarkus.datasource.jdbc.url", String.class),
                config.getValue("quarkus.datasource.username", String.class),
                config.getOptionalValue("quarkus.datasource.password", String.class).orElse(""));
    }

    private static List<String> rows(Statement s, String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (ResultSet rs = s.executeQuery(sql)) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                StringBuilder row = new StringBuilder();
                for (int i = 1; i <= n; i++) {
                    row.append(i > 1 ? "|" : "").append(rs.getString(i));
                }
                out.add(row.toString());
            }
        }
        return out;
    }
}
