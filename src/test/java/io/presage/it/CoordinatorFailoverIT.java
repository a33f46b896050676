package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import io.presage.it.JsonHttp.Answer;
import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;

/**
 * A standby coordinator (DESIGN §10), from the packaged application, with a real NATS and PostgreSQL:
 * two coordinators with the lease switched on, each with its own database. Only the holder serves; the
 * standby takes over once a SIGKILLed holder's lease expires, with every acknowledged commit; and a
 * holder frozen past its lease (SIGSTOP) and thawed after the other took over commits nothing and
 * stops, so that the two never both commit. A mirror given both coordinators' URLs forwards its writes
 * to whichever is active.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class CoordinatorFailoverIT {
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    /** Long enough that a stall of a busy CI machine does not make a holder lose the lease by itself. */
    private static final Duration TTL = Duration.ofSeconds(4);
    private final Path logDir = NodeProcess.BASE_DIR.resolve("target/failover-it");

    @Test
    void aStandbyTakesOverFromADeadCoordinatorAndAFrozenOneThawedLateCommitsNothing() throws Exception {
        NatsTestServer nats = NatsTestServer.start();
        NodeProcess a = null;
        NodeProcess b = null;
        NodeProcess mirror = null;
        try {
            PostgresTestServer pg = PostgresTestServer.get();
            Map<String, String> lease = NodeProcess.leaseOn(TTL);
            a = NodeProcess.coordinator("coord-a", nats, pg, pg.createDatabase(), logDir, lease);
            b = NodeProcess.coordinator("coord-b", nats, pg, pg.createDatabase(), logDir, lease);
            a.start();
            a.awaitReady(READY_TIMEOUT);
            mirror = NodeProcess.mirror("fo-mirror", a, nats, pg, pg.createDatabase(), logDir,
                    Map.of("PRESAGE_MIRROR_COORDINATOR_URL", "http://127.0.0.1:" + b.port + ",http://127.0.0.1:" + a.port));
            // The standby and the mirror start together (one start-up instead of two in a row): the mirror
            // finds b refusing connections or answering 503 as a standby, either way not the active one.
            b.start();
            mirror.start();
            awaitState(b, "STANDBY");
            mirror.awaitReady(READY_TIMEOUT);
            Answer viaMirror = forwardedUntilCommitted(mirror, "fo-m", "\"via the mirror, to a\"");
            assertEquals("http://127.0.0.1:" + a.port, coordinatorOf(mirror), "the mirror found the active one, listed second");

            // The standby serves nothing: a client (or a load balancer's readiness check) goes to the holder.
            assertEquals(503, JsonHttp.send(JsonHttp.get(b.uri("/q/health/ready"))).status());
            assertUnavailable(JsonHttp.send(JsonHttp.put(b.uri("/v1/kv/fo-0"), "\"at the standby\"")));
            assertUnavailable(JsonHttp.send(JsonHttp.get(b.uri("/v1/kv/fo-0"))));

            // Acknowledged commits at the holder, then it dies.
            Map<String, Long> acked = new LinkedHashMap<>();
            for (int i = 0; i < 20; i++) {
                Answer w = JsonHttp.send(JsonHttp.put(a.uri("/v1/kv/fo-" + i), "{\"n\":" + i + "}"));
                assertEquals(200, w.status(), w.toString());
                acked.put("fo-" + i, w.json().get("timestamp").asLong());
            }
            long killedAt = System.nanoTime();
            a.kill();
            b.awaitReady(READY_TIMEOUT);
            long failoverMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
            for (Map.Entry<String, Long> e : acked.entrySet()) {
                Answer r = JsonHttp.send(JsonHttp.get(b.uri("/v1/kv/" + e.getKey())));
                assertEquals(200, r.status(), e.getKey() + " at the new holder: " + r);
                assertEquals(e.getValue(), r.json().get("version").asLong(), e.getKey() + ": the acknowledged version");
            }
            Answer afterFailover = JsonHttp.send(JsonHttp.put(b.uri("/v1/kv/fo-0"), "\"b\""));
            assertEquals(200, afterFailover.status(), afterFailover.toString());
            assertTrue(afterFailover.json().get("timestamp").asLong() > acked.get("fo-0"), "commits go on after the last acknowledged one");
            Answer viaMirrorAfter = forwardedUntilCommitted(mirror, "fo-m", "\"via the mirror, to b\"");
            assertTrue(viaMirrorAfter.json().get("timestamp").asLong() > viaMirror.json().get("timestamp").asLong());
            assertEquals("http://127.0.0.1:" + b.port, coordinatorOf(mirror), "the mirror follows the failover");

            // The old holder, restarted, is a standby now.
            a.start();
            awaitState(a, "STANDBY");
            assertUnavailable(JsonHttp.send(JsonHttp.put(a.uri("/v1/kv/fo-1"), "\"a, restarted\"")));
            // Nor does it refuse a call on its copy (it answered 409 INSUFFICIENT_FUNDS from it), nor say that
            // no transaction has an id.
            assertUnavailable(JsonHttp.send(JsonHttp.post(a.uri("/v1/procedures/transfer"),
                    "{\"from\":\"fo-empty\",\"to\":\"fo-empty-to\",\"amount\":5}")));
            assertUnavailable(JsonHttp.send(JsonHttp.get(a.uri("/v1/transactions/fo-unknown"))));

            // Freeze the holder past its lease: the standby takes over and commits; the thawed one must not.
            b.signal("STOP");
            long frozenAt = System.nanoTime();
            a.awaitReady(READY_TIMEOUT);
            long takeoverMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - frozenAt);
            Answer atA = JsonHttp.send(JsonHttp.put(a.uri("/v1/kv/fo-2"), "\"a, active again\""));
            assertEquals(200, atA.status(), atA.toString());
            b.signal("CONT");
            Answer atThawed = sendOrRefused(JsonHttp.put(b.uri("/v1/kv/fo-2"), "\"b, thawed\""));
            assertNotEquals(200, atThawed.status(), "a coordinator that lost its lease commits nothing: " + atThawed);
            assertEquals(3, b.awaitExit(Duration.ofSeconds(30)), "it stops, with exit code 3, once it knows");

            Answer fo2 = JsonHttp.send(JsonHttp.get(a.uri("/v1/kv/fo-2")));
            assertEquals("a, active again", fo2.json().path("value").asText(), fo2.toString());
            assertEquals(atA.json().get("timestamp").asLong(), fo2.json().get("version").asLong());
            System.out.printf("failover IT: %d acknowledged commits kept; standby ready %d ms after the SIGKILL, "
                    + "%d ms after the SIGSTOP (lease ttl %d ms)%n", acked.size(), failoverMs, takeoverMs, TTL.toMillis());

            // The holder's NATS hangs. Its lease lapses before its renewer, blocked in a request to the frozen
            // server, notices: from that moment it answers every request 503, and its readiness must say so too
            // (it said UP until the renewer gave up, while NATS's own check waits longer still).
            nats.pause();
            try {
                int lapsedSeen = 0;
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (System.nanoTime() < until) {
                    Answer read = sendOrRefused(JsonHttp.get(a.uri("/v1/kv/fo-2")));
                    Answer ready = sendOrRefused(JsonHttp.get(a.uri("/q/health/ready")));
                    if (read.status() == 0 || ready.status() == 0) {
                        break; // exited
                    }
                    if (read.status() == 503) { // reads need only the lease here, not NATS
                        lapsedSeen++;
                        assertEquals(503, ready.status(), "serving nothing, yet ready: " + ready + "; the read: " + read);
                    }
                    Thread.sleep(20);
                }
                assertTrue(lapsedSeen > 0, "the lapsed holder was seen answering 503 before it exited");
                assertEquals(3, a.awaitExit(Duration.ofSeconds(30)), "it stops, with exit code 3, once it knows");
            } finally {
                nats.resume();
            }
        } finally {
            if (b != null && b.alive()) {
                b.signal("CONT");
            }
            NodeProcess.stopAll(mirror, a, b);
            nats.close();
        }
    }

    /** A write through the mirror, sent again on 503 or no answer (for up to 30 s) until it commits. */
    private static Answer forwardedUntilCommitted(NodeProcess mirror, String key, String value) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Answer last;
        do {
            last = sendOrRefused(JsonHttp.put(mirror.uri("/v1/kv/" + key), value));
            if (last.status() == 200) {
                return last;
            }
            Thread.sleep(100);
        } while (System.nanoTime() < deadline);
        throw new AssertionError("a write through the mirror did not commit within 30 s; last: " + last);
    }

    private static String coordinatorOf(NodeProcess mirror) {
        return JsonHttp.send(JsonHttp.get(mirror.uri("/v1/status"))).json().path("coordinator").path("url").asText();
    }

    private static void assertUnavailable(Answer r) {
        assertEquals(503, r.status(), r.toString());
        assertEquals("UNAVAILABLE", r.json().path("error").asText(), r.toString());
    }

    /** The answer, or a made-up 0 when the connection was refused or reset (the process is stopping). */
    private static Answer sendOrRefused(java.net.http.HttpRequest r) {
        try {
            return JsonHttp.send(r);
        } catch (UncheckedIOException e) {
            return new Answer(0, e.getMessage());
        }
    }

    /** Polls {@code /v1/status} until the node reports {@code state}. */
    private static void awaitState(NodeProcess n, String state) throws InterruptedException {
        n.awaitStatus(s -> state.equals(s.path("state").asText()), "reporting " + state, READY_TIMEOUT);
    }
}
