package io.presage.it;

import static io.presage.it.LogWriter.put;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.presage.coord.Tokens;
import io.presage.log.LogTxn;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.path.json.JsonPath;

/**
 * A speculation is reported COMMITTED only once this mirror has applied its commit's log message, not
 * once its applied position has passed it: a message the mirror cannot decode is parked and passed over,
 * and its writes are not here. Which message a commit lands in, and that this one cannot be decoded here
 * (a newer batch format, as from a coordinator upgraded before the mirror), cannot be arranged with a real
 * coordinator, so the coordinator is a stand-in HTTP server that appends the commit's message to the real
 * log itself and answers with its token; NATS and PostgreSQL are real.
 */
@QuarkusTest
@TestProfile(ParkedSpeculationCommitTest.Profile.class)
class ParkedSpeculationCommitTest {

    /** The {@code mirror} configuration profile on this class's {@link Servers}. */
    public static class Profile extends MirrorProfile {
        public Profile() {
            super(ParkedSpeculationCommitTest.Servers.class);
        }
    }

    /** The log the stand-in coordinator appends commits to (set once the application is up). */
    private static volatile LogWriter log;
    /** Whether the stand-in coordinator's next commit messages are undecodable here. */
    private static volatile boolean parkCommits;

    /** Real NATS and PostgreSQL, and a coordinator that commits every transaction it is sent, blindly. */
    public static class Servers extends StandInCoordinatorServers {
        @Override
        protected void contexts(HttpServer server) {
            server.createContext("/v1/transactions", ParkedSpeculationCommitTest::commit);
        }
    }

    /**
     * When not 0: the stand-in answers COMMITTED at log sequence 1 of a stream with this identity, appending
     * nothing, as a coordinator answers from a stream made again that this mirror has not looked at yet.
     */
    private static volatile long otherStream;

    /** Commits the transaction (its writes are the test's: key {@code pk-<id>} = 2) in a message of its own. */
    private static void commit(HttpExchange ex) throws IOException {
        if ("GET".equals(ex.getRequestMethod())) {
            // GET /v1/transactions/{id}: this stand-in remembers no ids, so nothing ever committed under one
            StandInCoordinatorServers.answer(ex, 404, "{\"error\":\"NOT_FOUND\",\"message\":\"no committed transaction has this id\"}");
            return;
        }
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        String id = JsonHttp.tree(body).path("id").asText();
        if (otherStream != 0) {
            StandInCoordinatorServers.answer(ex, 200, "{\"status\":\"COMMITTED\",\"timestamp\":1,\"adjusted\":false,"
                    + "\"token\":\"p2.1." + Long.toString(otherStream, 36) + "\"}");
            return;
        }
        try {
            LogTxn txn = log.txn(put("pk-" + id, "2"));
            long seq = parkCommits ? log.appendRaw(LogWriter.newerFormat(txn)) : log.append(txn);
            StandInCoordinatorServers.answer(ex, 200, "{\"status\":\"COMMITTED\",\"timestamp\":" + txn.timestamp()
                    + ",\"adjusted\":false,\"token\":\"" + Tokens.of(seq) + "\"}");
        } catch (Exception e) {
            StandInCoordinatorServers.answer(ex, 503, "{\"error\":\"UNAVAILABLE\",\"message\":\""
                    + e.getClass().getSimpleName() + "\"}");
        }
    }

    @BeforeAll
    static void connect() {
        log = new LogWriter();
    }

    @AfterAll
    static void disconnect() {
        log.close();
    }

    /**
     * The commit's message is parked here: the speculation stays SPECULATIVE (with its token, and a message
     * saying why) while a read at this mirror does not show its write, and a speculation committed meanwhile
     * in a message that is applied is COMMITTED as usual. Once an operator has dealt with the parked message
     * (deleted its row), the parked one is COMMITTED too.
     */
    @Test
    void aSpeculationWhoseCommitMessageIsParkedHereIsNotReportedCommitted() throws Exception {
        Http.awaitReady(Duration.ofSeconds(60));
        Http.awaitApplied(log.append(log.txn(put("pk-parked", "1"))));

        parkCommits = true;
        speculate("parked");
        JsonPath waiting = awaitLogged("parked");
        long sequence = io.presage.coord.Tokens.anyPosition(waiting.getString("token"));
        Http.awaitApplied(sequence); // passed over: parked
        Http.awaitStatus(s -> s.getLong("deadLetters") > 0, "the commit's message parked");
        parkCommits = false;
        speculate("applied");
        assertEquals("COMMITTED", awaitDecided("applied").getString("status"),
                "a commit applied here is confirmed while another message is parked");

        Thread.sleep(3000); // past the retries a confirmation takes
        JsonPath parked = outcome("parked");
        JsonPath read = given().get("/v1/kv/{k}", "pk-parked").jsonPath();
        assertEquals(1, read.getInt("value"), "the mirror's read does not show the parked write");
        assertEquals("SPECULATIVE", parked.getString("status"), "reported " + parked.getString("status")
                + " while this mirror's read of its key still answers the value before it: " + parked.prettify());
        assertTrue(parked.getString("message").contains("parked"), parked.prettify());
        assertEquals(waiting.getString("token"), parked.getString("token"), "the commit's token is shown meanwhile");

        try (java.sql.Connection c = AppDatabase.connect(); java.sql.Statement st = c.createStatement()) {
            st.executeUpdate("delete from dead_letters");
        }
        assertEquals("COMMITTED", awaitDecided("parked").getString("status"), "once the operator has dealt with it");
    }

    /**
     * Speculations whose commits are parked ask again every 2 s until an operator acts; one look in
     * {@code dead_letters} each was 15 a second from these 30 (5,000 a second from the 10,000 a mirror may
     * hold, as when a coordinator upgraded before its mirrors parks every message after it). They share one
     * read now, at most one a second.
     */
    @Test
    void speculationsWaitingOnParkedCommitsShareTheirLooksInDeadLetters() throws Exception {
        Http.awaitReady(Duration.ofSeconds(60));
        int n = 30;
        parkCommits = true;
        try {
            for (int i = 0; i < n; i++) {
                speculate("many-" + i);
            }
            for (int i = 0; i < n; i++) {
                await("many-" + i, o -> o.getString("message") != null && o.getString("message").contains("parked"),
                        "waiting on its parked commit");
            }
        } finally {
            parkCommits = false;
        }
        Thread.sleep(4_000); // PostgreSQL's statistics show the scans of the last seconds late
        long before = deadLetterScans();
        Thread.sleep(6_000);
        long scans = deadLetterScans() - before;
        try (java.sql.Connection c = AppDatabase.connect(); java.sql.Statement st = c.createStatement()) {
            st.executeUpdate("delete from dead_letters");
        }
        for (int i = 0; i < n; i++) {
            assertEquals("COMMITTED", awaitDecided("many-" + i).getString("status"), "once the operator has dealt with it");
        }
        // The applier counts the rows every 2 s (3), and the speculations' shared read is at most one a second
        // (6); one read each was 15 a second (90).
        assertTrue(scans <= 20, scans + " looks in dead_letters in 6 s by " + n + " speculations waiting on parked commits");
    }

    /**
     * The log stream was made again and the coordinator commits into the new one, while this mirror has not
     * looked at the stream since (it does once a pull, about half a second): a commit at a sequence this
     * mirror has passed in its own stream was confirmed all the same, though its write is in no stream this
     * mirror applies from. The token of the coordinator's answer names its stream; another than this
     * mirror's is never confirmed by this mirror's position.
     */
    @Test
    void aCommitInAnotherLogStreamIsNotConfirmedByThePositionThisMirrorPassedInItsOwn() throws Exception {
        Http.awaitReady(Duration.ofSeconds(60));
        log.append(log.txn(put("pk-before", "1")));
        Http.awaitApplied(log.append(log.txn(put("pk-before", "2")))); // past sequence 1 of its stream
        String mine = given().get("/v1/kv/{k}", "pk-before").jsonPath().getString("token");
        long stream = Long.parseLong(mine.substring(mine.lastIndexOf('.') + 1), 36);
        otherStream = stream + 1;
        try {
            speculate("other-stream");
            awaitLogged("other-stream");
            Thread.sleep(2_000); // past the retries a confirmation takes
        } finally {
            otherStream = 0;
        }
        JsonPath o = outcome("other-stream");
        assertEquals("SPECULATIVE", o.getString("status"), "confirmed by a position of another log stream: " + o.prettify());
        assertTrue(o.getString("message").contains("another log stream"), o.prettify());
        // Shown with this mirror's stream, the token was one this mirror takes for reached at once.
        assertEquals("p2.1." + Long.toString(stream + 1, 36), o.getString("token"), "the coordinator's stream is shown");
    }

    /**
     * A speculation recorded before a restart whose record no longer reads as a transaction this node can send
     * (limits lowered since, or a value the coordinator refused as too deep): taken over (by a retry under its
     * id here, as a restart's resumption does), it was abandoned with an ERROR line and answered SPECULATIVE
     * "being resumed" for ever. It is rolled back now, the coordinator holding no commit under its id.
     */
    @Test
    void aSpeculationWhoseRecordCannotBeSentAgainIsRolledBackNotLeftSpeculativeForEver() throws Exception {
        Http.awaitReady(Duration.ofSeconds(60));
        try (java.sql.Connection c = AppDatabase.connect(); java.sql.Statement st = c.createStatement()) {
            st.executeUpdate("insert into speculations (id, kind, body, created_ms) values ('unsendable', 'transaction', "
                    + "'{\"writes\":5}', " + System.currentTimeMillis() + ")");
        }
        int status = given().contentType("application/json").queryParam("speculative", "true")
                .body("{\"id\":\"unsendable\",\"reads\":[],\"writes\":[{\"key\":\"pk-unsendable\",\"value\":2}]}")
                .post("/v1/transactions").statusCode();
        assertTrue(status == 200 || status == 202, "the retry is answered with the recorded speculation: " + status);
        JsonPath o = awaitDecided("unsendable");
        assertEquals("ROLLED_BACK", o.getString("status"), o.prettify());
        assertEquals("UNRESUMABLE", o.getString("reason"), o.prettify());
        assertEquals(404, given().get("/v1/kv/{k}", "pk-unsendable").statusCode(), "nothing written");
    }

    /** Scans of {@code dead_letters} so far, as PostgreSQL's statistics count them (a moment late). */
    private static long deadLetterScans() throws Exception {
        try (java.sql.Connection c = AppDatabase.connect(); java.sql.Statement st = c.createStatement();
             java.sql.ResultSet rs = st.executeQuery("select coalesce(seq_scan, 0) + coalesce(idx_scan, 0) "
                     + "from pg_stat_user_tables where relname = 'dead_letters'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static void speculate(String id) {
        given().contentType("application/json").queryParam("speculative", "true")
                .body("{\"id\":\"" + id + "\",\"reads\":[],\"writes\":[{\"key\":\"pk-" + id + "\",\"value\":2}]}")
                .post("/v1/transactions").then().statusCode(202);
    }

    private static JsonPath outcome(String id) {
        return given().get("/v1/transactions/{id}", id).then().statusCode(200).extract().jsonPath();
    }

    /** The speculation once the coordinator has answered its commit (its token shown). */
    private static JsonPath awaitLogged(String id) throws InterruptedException {
        return await(id, o -> o.getString("token") != null, "committed at the coordinator");
    }

    private static JsonPath awaitDecided(String id) throws InterruptedException {
        return await(id, o -> !"SPECULATIVE".equals(o.getString("status")), "decided");
    }

    private static JsonPath await(String id, java.util.function.Predicate<JsonPath> done, String what)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        JsonPath o = outcome(id);
        while (!done.test(o)) {
            assertTrue(System.nanoTime() < deadline, "speculation " + id + " not " + what + " in 30 s: " + o.prettify());
            Thread.sleep(20);
            o = outcome(id);
        }
        return o;
    }
}
