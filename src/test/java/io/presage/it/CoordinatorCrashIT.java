package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;
import io.presage.it.ProcedureCalls.Kind;
import io.presage.it.ProcedureCalls.Op;
import io.presage.it.ProcedureCalls.Outcome;

/**
 * Issue 5's crash test, against the packaged application ({@code target/quarkus-app/quarkus-run.jar},
 * so it runs in {@code verify}, after {@code package}): concurrent committed increments and bank
 * transfers over HTTP, SIGKILL of the coordinator mid-load, a restart on the same port with the same
 * NATS and database, more load. Then every acknowledged commit must be there, nothing applied twice,
 * and the bank total must hold.
 *
 * <p>Every request carries an idempotency id ({@code ?id=}) and is retried with the same id after a
 * connection error, a 503 or a 504, until it gets a definitive answer (200 COMMITTED or 409 ABORTED);
 * a retry of an id returns the first outcome, so the client knows for each id whether it committed.
 * The checks, after the applier has caught up with the log:
 * <ol>
 * <li>the counter equals the number of distinct increment ids answered COMMITTED;</li>
 * <li>the ten accounts, read with one batch read, sum to 10 × 1000;</li>
 * <li>each account equals 1000 plus the net of the transfers answered COMMITTED that involve it;</li>
 * <li>PostgreSQL ({@code items}), read over JDBC, holds the same values and versions;</li>
 * <li>{@code txn_ids} holds exactly one committed attempt ({@code <id>#n}) per id answered
 *     COMMITTED and none for an id answered ABORTED: no procedure call committed twice.</li>
 * <li>then every id answered COMMITTED is sent once more, as a client whose answer the crash lost
 *     would: each must answer COMMITTED, and all of the above must still hold (nothing re-applied).</li>
 * </ol>
 *
 * <p>Run alone: {@code ./mvnw verify -Dtest=NoSuchTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dit.test=CoordinatorCrashIT}; {@code -Dcrashit.kills=N} and {@code -Dcrashit.threads=N} make it
 * harsher. The coordinators' output is in {@code target/crash-it/coordinator-N.log}, the run's numbers
 * in {@code target/crash-it/summary.txt}.
 */
class CoordinatorCrashIT {
    private static final int ACCOUNTS = 10;
    /** presage.apply.cache-bytes: room for about 6 of the 11 keys' entries. */
    private static final long CACHE_BYTES = 1500;
    private static final long INITIAL = 1000;
    /** Client threads, half incrementing, half transferring: 6 unless -Dcrashit.threads=N. */
    private static final int THREADS = Integer.getInteger("crashit.threads", 6);
    private static final String COUNTER = "crash-counter";
    private static final Duration LOAD_BEFORE_KILL = Duration.ofSeconds(3);
    /** SIGKILLs during the load: 1 unless -Dcrashit.kills=N (more kills, more chances to hit a bad moment). */
    private static final int KILLS = Integer.getInteger("crashit.kills", 1);
    private static final Duration LOAD_AFTER_RESTART = Duration.ofSeconds(3);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    /** After the load stops, how long a request still in doubt may keep retrying. */
    private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(30);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path logDir = NodeProcess.BASE_DIR.resolve("target/crash-it");
    private final Map<String, Outcome> outcomes = new ConcurrentHashMap<>();
    private final AtomicBoolean stop = new AtomicBoolean();
    private final ProcedureCalls calls = new ProcedureCalls();
    private final AtomicLong settleDeadline = calls.settleDeadline;
    private final AtomicInteger connectionErrors = calls.connectionErrors;
    private final AtomicInteger unavailable = calls.unavailable;
    private final List<String> clientFailures = calls.failures;

    private NodeProcess coordinator;
    private volatile long killedAtNanos;
    private volatile long readyAgainAtNanos;
    private final List<Long> downtimeMillis = new ArrayList<>();

    @Test
    void everyAcknowledgedCommitSurvivesASigkillAndNothingIsAppliedTwice() {
        // A hard bound whatever goes wrong; the finally block and the shutdown hook stop the processes.
        assertTimeoutPreemptively(Duration.ofSeconds(140 + 60L * KILLS), this::crashUnderLoad);
    }

    private void crashUnderLoad() throws Exception {
        Files.createDirectories(logDir);
        Files.deleteIfExists(logDir.resolve("summary.txt"));
        long t0 = System.nanoTime();
        ExecutorService clients = Executors.newFixedThreadPool(THREADS);
        NatsTestServer nats = NatsTestServer.start();
        try {
            PostgresTestServer pg = PostgresTestServer.get();
            String db = pg.createDatabase();
            // A read cache too small for the 11 keys: reads miss, fill and evict all along, through the
            // kill and the restart's load, so the checks below also prove the partial cache coherent.
            coordinator = NodeProcess.coordinator("coordinator", nats, pg, db, logDir,
                    Map.of("PRESAGE_APPLY_CACHE_BYTES", Long.toString(CACHE_BYTES)));
            coordinator.start();
            coordinator.awaitReady(READY_TIMEOUT);
            long firstReady = System.nanoTime();
            for (int i = 0; i < ACCOUNTS; i++) {
                putUntilCommitted(account(i), Long.toString(INITIAL));
            }
            putUntilCommitted(COUNTER, "0");

            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                workers.add(clients.submit(() -> work(thread)));
            }
            for (int kill = 1; kill <= KILLS; kill++) {
                Thread.sleep(LOAD_BEFORE_KILL.toMillis());
                // SIGKILL (Process.destroyForcibly on Linux): no shutdown hook, nothing flushed.
                long killedAt = System.nanoTime();
                if (kill == 1) {
                    killedAtNanos = killedAt;
                }
                coordinator.kill();

                coordinator.start();
                coordinator.awaitReady(READY_TIMEOUT);
                readyAgainAtNanos = System.nanoTime();
                downtimeMillis.add((readyAgainAtNanos - killedAt) / 1_000_000);
            }
            Thread.sleep(LOAD_AFTER_RESTART.toMillis());
            // A cold JVM on a busy machine may not have answered anything yet: the checks need a few answers
            // after the restart to mean something, so the load goes on (at most 30 s) until it has.
            long extraUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (countAnsweredAfter(readyAgainAtNanos) == 0 && System.nanoTime() < extraUntil) {
                Thread.sleep(100);
            }

            stop.set(true);
            settleDeadline.set(System.nanoTime() + SETTLE_TIMEOUT.toNanos());
            for (Future<?> w : workers) {
                w.get(SETTLE_TIMEOUT.toSeconds() + 10, TimeUnit.SECONDS);
            }
            assertTrue(clientFailures.isEmpty(), "client failures: " + clientFailures);

            long loadMillis = (System.nanoTime() - firstReady) / 1_000_000;
            JsonNode status = coordinator.awaitApplied(Duration.ofSeconds(30));
            verify(pg, db, status, loadMillis, t0, "after the load");
            JsonNode cache = status.get("readCache");
            assertEquals(CACHE_BYTES, cache.get("maxBytes").asLong(), "the configured budget: " + cache);
            assertTrue(cache.get("bytes").asLong() <= CACHE_BYTES && cache.get("keys").asInt() > 0
                    && !cache.get("complete").asBoolean() && cache.get("evictions").asLong() > 0
                    && cache.get("fills").asLong() > 0, "a partial cache within its budget, in use: " + cache);

            // (f) A client whose answer the crash lost may retry much later: every id answered
            // COMMITTED, sent again to the restarted coordinator, must answer COMMITTED and commit
            // nothing more; then all of the above must still hold.
            resendCommittedIds(clients);
            verify(pg, db, coordinator.awaitApplied(Duration.ofSeconds(30)), loadMillis, t0, "after re-sending every COMMITTED id");
        } finally {
            stop.set(true);
            settleDeadline.set(System.nanoTime());
            clients.shutdownNow();
            clients.awaitTermination(10, TimeUnit.SECONDS);
            if (coordinator != null) {
                coordinator.stop();
            }
            nats.close();
        }
    }

    // ---- checks -----------------------------------------------------------------------------

    private void verify(PostgresTestServer pg, String db, JsonNode status, long loadMillis, long t0, String phase)
            throws Exception {
        long increments = 0;
        long[] expected = new long[ACCOUNTS];
        java.util.Arrays.fill(expected, INITIAL);
        int committed = 0;
        int aborted = 0;
        int recovered = 0;
        int beforeKill = 0;
        int afterKill = 0;
        Map<String, Integer> abortReasons = new HashMap<>();
        for (Outcome o : outcomes.values()) {
            if (o.kind() == Kind.ABORTED) {
                aborted++;
                abortReasons.merge(o.reason(), 1, Integer::sum);
                continue;
            }
            committed++;
            if (o.lostAnswers() > 0) {
                recovered++;
            }
            if (o.answeredAtNanos() < killedAtNanos) {
                beforeKill++;
            } else {
                afterKill++;
            }
            if (o.op().procedure().equals("increment")) {
                increments++;
            } else {
                expected[index(o.op().from())] -= o.op().amount();
                expected[index(o.op().to())] += o.op().amount();
            }
        }

        // Read everything first, so that a failure reports every check and the run's numbers.
        JsonNode counter = send(get("/v1/kv/" + COUNTER)).json();
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < ACCOUNTS; i++) {
            keys.add(account(i));
        }
        JsonHttp.Answer batch = send(post("/v1/kv/_batch", JSON.writeValueAsString(Map.of("keys", keys))));
        assertEquals(200, batch.status(), batch.text());
        long total = 0;
        Map<String, long[]> api = new HashMap<>(); // key -> {value, version}
        for (JsonNode item : batch.json().get("items")) {
            long v = item.get("value").asLong();
            total += v;
            api.put(item.get("key").asText(), new long[] {v, item.get("version").asLong()});
        }
        Map<String, long[]> rows = new HashMap<>(); // PostgreSQL: key -> {value, version}
        Map<String, List<String>> attempts = new HashMap<>(); // client id -> its committed attempt ids
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(db), pg.username(), pg.password())) {
            List<String> all = new ArrayList<>(keys);
            all.add(COUNTER);
            try (PreparedStatement ps = c.prepareStatement(
                    "select item_key, item_value, version from items where item_key = any(?)")) {
                ps.setArray(1, c.createArrayOf("text", all.toArray()));
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        rows.put(rs.getString(1), new long[] {JSON.readTree(rs.getString(2)).asLong(), rs.getLong(3)});
                    }
                }
            }
            // Only the attempts: a committed attempt is stored under its call's id too (a copy, not a commit).
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("select txn_id from txn_ids where txn_id ~ '#[0-7]$'")) {
                while (rs.next()) {
                    String attempt = rs.getString(1);
                    int hash = attempt.lastIndexOf('#');
                    attempts.computeIfAbsent(hash < 0 ? attempt : attempt.substring(0, hash), k -> new ArrayList<>())
                            .add(attempt);
                }
            }
        }
        List<String> twice = new ArrayList<>();
        List<String> lost = new ArrayList<>();
        List<String> phantom = new ArrayList<>();
        for (Map.Entry<String, Outcome> e : outcomes.entrySet()) {
            List<String> n = attempts.getOrDefault(e.getKey(), List.of());
            if (n.size() > 1) {
                twice.add(n + " " + e.getValue());
            } else if (e.getValue().kind() == Kind.COMMITTED && n.isEmpty()) {
                lost.add(e.getKey() + " " + e.getValue());
            } else if (e.getValue().kind() == Kind.ABORTED && n.size() == 1) {
                phantom.add(n + " " + e.getValue());
            }
        }
        for (String id : attempts.keySet()) {
            if (!outcomes.containsKey(id)) {
                phantom.add(attempts.get(id) + " (never answered)");
            }
        }

        JsonNode cert = status.path("certification");
        String summary = String.format(java.util.Locale.ROOT,
                "crash test, %s: %d kill(s), down %s ms; %d ids answered in %d ms of load (%d COMMITTED, %d ABORTED %s);"
                        + " COMMITTED before the kill %d, after it %d (of which %d after the last restart was ready);"
                        + " %d COMMITTED only after a lost answer or 503 and a retry with the same id;"
                        + " %d connection errors, %d 503/504; last process certified %d, aborted %d (re-run inside"
                        + " procedures), adjusted %d; counter %s (expected %d), bank total %d, log sequence %d;"
                        + " test took %d ms",
                phase, KILLS, downtimeMillis, outcomes.size(), loadMillis, committed, aborted, abortReasons, beforeKill,
                afterKill, countAnsweredAfter(readyAgainAtNanos), recovered, connectionErrors.get(), unavailable.get(),
                cert.path("committed").asLong(), cert.path("aborted").asLong(), cert.path("adjusted").asLong(),
                counter.path("value"), increments, total, status.get("committedSequence").asLong(),
                (System.nanoTime() - t0) / 1_000_000);
        System.out.println(summary);
        Files.writeString(logDir.resolve("summary.txt"), summary + System.lineSeparator(),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);

        long expectedIncrements = increments;
        long bankTotal = total;
        List<Executable> checks = new ArrayList<>();
        // (a) the counter: exactly the increments answered COMMITTED.
        checks.add(() -> assertEquals(expectedIncrements, counter.get("value").asLong(),
                "counter vs increments answered COMMITTED (lost ack if lower, double apply if higher)"));
        // (b) the bank total, from one batch read (one log position).
        checks.add(() -> assertEquals(ACCOUNTS * INITIAL, bankTotal, "the bank total (batch read) " + api.keySet()));
        // (c) each account: 1000 plus the net of its transfers answered COMMITTED.
        for (int i = 0; i < ACCOUNTS; i++) {
            String k = account(i);
            long want = expected[i];
            checks.add(() -> assertEquals(want, api.get(k)[0], k + ": 1000 plus the net of the transfers answered COMMITTED"));
        }
        // (d) PostgreSQL holds the same values and versions.
        for (String k : keys) {
            checks.add(() -> {
                assertTrue(rows.containsKey(k), k + " is missing from items");
                assertEquals(api.get(k)[0], rows.get(k)[0], k + ": PostgreSQL's value vs the API's");
                assertEquals(api.get(k)[1], rows.get(k)[1], k + ": PostgreSQL's version vs the API's");
            });
        }
        checks.add(() -> assertEquals(ACCOUNTS * INITIAL,
                keys.stream().mapToLong(k -> rows.containsKey(k) ? rows.get(k)[0] : 0).sum(), "the bank total in PostgreSQL"));
        checks.add(() -> {
            assertTrue(rows.containsKey(COUNTER), COUNTER + " is missing from items");
            assertEquals(expectedIncrements, rows.get(COUNTER)[0], "the counter in PostgreSQL");
            assertEquals(counter.get("version").asLong(), rows.get(COUNTER)[1], "the counter's version in PostgreSQL");
        });
        // (e) one committed attempt per id answered COMMITTED, none for one answered ABORTED.
        checks.add(() -> assertTrue(twice.isEmpty(), twice.size() + " procedure calls committed more than once: " + twice));
        checks.add(() -> assertTrue(lost.isEmpty(), lost.size() + " answered COMMITTED but not in txn_ids: " + lost));
        checks.add(() -> assertTrue(phantom.isEmpty(),
                phantom.size() + " committed although answered ABORTED (or never answered): " + phantom));
        checks.add(() -> assertEquals(0, status.get("deadLetters").asLong(), "dead letters"));
        int answeredBefore = beforeKill;
        checks.add(() -> assertTrue(answeredBefore > 0 && countAnsweredAfter(readyAgainAtNanos) > 0,
                "load on both sides of the kill: " + summary));
        assertAll(phase, checks);
    }

    /**
     * Re-sends every id answered COMMITTED (in parallel, same request, same id); each must answer
     * COMMITTED with the same result, whether the coordinator answers from memory or from its store.
     */
    private void resendCommittedIds(ExecutorService clients) throws Exception {
        List<Map.Entry<String, Outcome>> committed = new ArrayList<>();
        for (Map.Entry<String, Outcome> e : outcomes.entrySet()) {
            if (e.getValue().kind() == Kind.COMMITTED) {
                committed.add(e);
            }
        }
        settleDeadline.set(System.nanoTime() + SETTLE_TIMEOUT.toNanos());
        List<String> changed = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicInteger next = new AtomicInteger();
        List<Future<?>> resenders = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            resenders.add(clients.submit(() -> {
                for (int i = next.getAndIncrement(); i < committed.size(); i = next.getAndIncrement()) {
                    Map.Entry<String, Outcome> e = committed.get(i);
                    Outcome again = callUntilAnswered(e.getValue().op(), e.getKey());
                    if (again == null || again.kind() != Kind.COMMITTED) {
                        changed.add(e.getKey() + " " + e.getValue().op() + " -> " + again);
                    } else if (e.getValue().result() == null || !e.getValue().result().equals(again.result())) {
                        changed.add(e.getKey() + " " + e.getValue().op() + ": result " + e.getValue().result()
                                + " then " + again.result());
                    }
                }
            }));
        }
        for (Future<?> f : resenders) {
            f.get(SETTLE_TIMEOUT.toSeconds() + 10, TimeUnit.SECONDS);
        }
        assertTrue(clientFailures.isEmpty(), "client failures while re-sending: " + clientFailures);
        assertTrue(changed.isEmpty(), changed.size() + " of " + committed.size()
                + " ids answered COMMITTED got another answer when sent again: " + changed);
    }

    private long countAnsweredAfter(long nanos) {
        return outcomes.values().stream().filter(o -> o.kind() == Kind.COMMITTED && o.answeredAtNanos() > nanos).count();
    }

    // ---- the clients ------------------------------------------------------------------------

    /** Half the threads increment the counter, half move random amounts between random accounts. */
    private void work(int thread) {
        Random random = new Random(42L * 1_000 + thread);
        try {
            for (long n = 0; !stop.get(); n++) {
                Op op;
                if (thread % 2 == 0) {
                    op = Op.increment(COUNTER);
                } else {
                    int from = random.nextInt(ACCOUNTS);
                    int to = (from + 1 + random.nextInt(ACCOUNTS - 1)) % ACCOUNTS;
                    op = Op.transfer(account(from), account(to), 1 + random.nextInt(100));
                }
                String id = "crash-t" + thread + "-" + n;
                Outcome o = callUntilAnswered(op, id);
                if (o == null) {
                    return; // already reported
                }
                outcomes.put(id, o);
            }
        } catch (RuntimeException | Error e) {
            clientFailures.add("thread " + thread + ": " + e);
        }
    }

    private Outcome callUntilAnswered(Op op, String id) {
        return calls.callUntilAnswered(coordinator.uri(""), op, id);
    }

    private void putUntilCommitted(String key, String json) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        HttpRequest put = HttpRequest.newBuilder(uri("/v1/kv/" + key)).timeout(Duration.ofSeconds(15))
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)).build();
        JsonHttp.Answer r = null;
        while (System.nanoTime() < deadline) {
            r = send(put);
            if (r.status() == 200) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("PUT " + key + " was not committed: " + (r == null ? "no answer" : r.text()));
    }

    // ---- helpers ----------------------------------------------------------------------------

    private static String account(int i) {
        return "crash-acct-" + i;
    }

    private static int index(String account) {
        return Integer.parseInt(account.substring("crash-acct-".length()));
    }

    private URI uri(String path) {
        return coordinator.uri(path);
    }

    private HttpRequest get(String path) {
        return JsonHttp.get(uri(path));
    }

    private HttpRequest post(String path, String json) {
        return JsonHttp.post(uri(path), json);
    }

    private static JsonHttp.Answer send(HttpRequest r) {
        return JsonHttp.send(r);
    }
}
