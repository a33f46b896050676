package io.presage.it;

import static io.presage.it.JsonHttp.json;
import static io.presage.it.JsonHttp.outcome;
import static io.presage.it.JsonHttp.send;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A mirror's view of the one namespace of idempotency ids: a plain transaction "x" and procedure call x
 * (attempts "x#n") commit at most once between them, and the coordinator answers the later one with the
 * first one's commit. At the mirror, a call whose id a plain transaction took commits nothing, and says so
 * as the coordinator does: never COMMITTED as speculated, never a result it did not commit, never
 * ROLLED_BACK. A packaged coordinator and mirror on real NATS and PostgreSQL; logs in target/id-namespace-it/.
 */
class IdNamespaceAtMirrorIT {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(300);
    private static final Path LOGS = NodeProcess.BASE_DIR.resolve("target/id-namespace-it");
    private static final long HOLD = 4444;

    private static CoordinatorAndMirror nodes;

    @BeforeAll
    static void start() throws Exception {
        nodes = CoordinatorAndMirror.start(LOGS, READY_TIMEOUT, Map.of(), db -> Map.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (nodes != null) {
            nodes.close();
        }
    }

    @Test
    void aSpeculativeCallUnderAnIdAPlainTransactionTookCommitsNothingAndIsReportedWithoutAResult() throws Exception {
        String counter = counter("ns-spec-n");
        plain("ns-spec");

        JsonNode accepted = json(send(nodes.mirror, "POST", "/v1/procedures/increment?speculative=true&id=ns-spec",
                "{\"key\":\"" + counter + "\"}"), 202);
        assertEquals(1, accepted.path("result").asInt(), "planned on the mirror's copy");
        assertCommittedNothing("ns-spec", counter, 0); // asked before sending: nothing sent
    }

    /**
     * The plain transaction commits after the mirror found the id free and before its attempt 0 goes out
     * (the attempt's record waits on the test's lock): the coordinator answers "ns-race#0" with the plain
     * transaction's commit, which carries no result.
     */
    @Test
    void aCallWhoseAttemptIsAnsweredWithAPlainTransactionsCommitIsReportedWithoutAResult() throws Exception {
        String counter = counter("ns-race-n");
        try (Connection admin = db(); Statement s = admin.createStatement()) {
            s.execute("create or replace function ns_hold() returns trigger language plpgsql as $$ begin "
                    + "perform pg_advisory_xact_lock(" + HOLD + "); return new; end $$");
            s.execute("create trigger ns_hold before update on speculations for each row "
                    + "when (new.id = 'ns-race' and new.attempt = 0) execute function ns_hold()");
        }
        try (Connection holder = db(); Statement hold = holder.createStatement()) {
            hold.execute("select pg_advisory_lock(" + HOLD + ")");
            json(send(nodes.mirror, "POST", "/v1/procedures/increment?speculative=true&id=ns-race",
                    "{\"key\":\"" + counter + "\"}"), 202);
            AdvisoryHold.awaitWaiter(hold, HOLD, "the mirror's attempt record");
            plain("ns-race");
            hold.execute("select pg_advisory_unlock(" + HOLD + ")");
        }
        assertCommittedNothing("ns-race", counter, 1); // its attempt 0 went out
    }

    @Test
    void aForwardedCallUnderAnIdAPlainTransactionTookCommitsNothingAndAnswersThatCommit() throws Exception {
        String counter = counter("ns-fwd-n");
        String plainToken = plain("ns-fwd");

        JsonNode answer = json(send(nodes.mirror, "POST", "/v1/procedures/increment?id=ns-fwd",
                "{\"key\":\"" + counter + "\"}"), 200);
        assertEquals("COMMITTED", answer.path("status").asText(), answer.toString());
        assertFalse(answer.has("result"), "the plain transaction's commit carries no result: " + answer);
        assertEquals(plainToken, answer.path("token").asText(), "the plain transaction's commit: " + answer);
        assertEquals(0, json(send(nodes.coordinator, "GET", "/v1/kv/" + counter, null), 200).path("value").asInt());
        JsonNode atMirror = json(send(nodes.mirror, "GET", "/v1/transactions/ns-fwd", null), 200);
        assertEquals("COMMITTED", atMirror.path("status").asText(), atMirror.toString());
    }

    /** The speculation's outcome at the mirror, the counter and the coordinator's own answer agree. */
    private static void assertCommittedNothing(String id, String counter, int attempts) throws Exception {
        JsonNode o = outcome(nodes.mirror, id);
        assertEquals(attempts, o.path("attempts").asInt(), o.toString());
        assertEquals("REEXECUTED", o.path("status").asText(), "committed, but not as speculated: " + o);
        assertFalse(o.has("result"), "no result committed under the id: " + o);
        assertEquals(0, json(send(nodes.coordinator, "GET", "/v1/kv/" + counter, null), 200).path("value").asInt(),
                "the call committed nothing");
        JsonNode atCoordinator = json(send(nodes.coordinator, "GET", "/v1/transactions/" + id, null), 200);
        assertEquals("COMMITTED", atCoordinator.path("status").asText());
        assertFalse(atCoordinator.has("result"), atCoordinator.toString());
        assertEquals(atCoordinator.path("token").asText(), o.path("token").asText(), "the same commit: " + o);
        JsonNode read = json(send(nodes.mirror, "GET", "/v1/kv/" + id + "-plain?consistency=causal&after="
                + o.path("token").asText(), null), 200);
        assertEquals("plain", read.path("value").asText(), "what committed under the id is readable here: " + read);
    }

    /** Key {@code key} = 0 at the coordinator and at the mirror. */
    private static String counter(String key) throws Exception {
        String token = json(send(nodes.coordinator, "PUT", "/v1/kv/" + key, "0"), 200).path("token").asText();
        json(send(nodes.mirror, "GET", "/v1/kv/" + key + "?consistency=causal&timeoutMs=20000&after=" + token, null), 200);
        return key;
    }

    /** A plain transaction under {@code id} at the coordinator, writing {@code <id>-plain}; its token. */
    private static String plain(String id) throws Exception {
        JsonNode c = json(send(nodes.coordinator, "POST", "/v1/transactions",
                "{\"id\":\"" + id + "\",\"writes\":[{\"key\":\"" + id + "-plain\",\"value\":\"plain\"}]}"), 200);
        return c.path("token").asText();
    }

    private static Connection db() throws Exception {
        return DriverManager.getConnection(nodes.pg.jdbcUrl(nodes.mirrorDb), nodes.pg.username(), nodes.pg.password());
    }
}
