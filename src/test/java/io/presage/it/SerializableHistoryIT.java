package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import io.presage.it.TimestampOrderReplay.Committed;
import io.presage.it.TimestampOrderReplay.Observed;
import io.presage.it.TimestampOrderReplay.Read;
import io.presage.it.TimestampOrderReplay.Versioned;
import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;

/**
 * DESIGN §3's claim, checked from outside on the packaged coordinator: the transactions it answers
 * COMMITTED are serializable in commit-timestamp order — adjusted ones (placed in the past) included,
 * and across a SIGKILL and the recovery that rebuilds certification from the log.
 *
 * <p>Client threads run optimistic transactions on a dozen hot keys as a client of the API would: read
 * one to three keys (one GET each, or one batch read), sometimes dawdle so that what they read goes
 * stale, then {@code POST /v1/transactions} with the versions read and writes of some of those keys
 * (and now and then a key not read), each written value naming its transaction. A third of the
 * threads do so at the coordinator, a third at a mirror (local reads, often behind; the transaction
 * forwarded), a third at the mirror speculatively (202, then the outcome polled). Every transaction
 * that writes carries an idempotency id and is sent again after a connection error, 503 or 504, so
 * each ends COMMITTED (with its timestamp) or ABORTED / ROLLED_BACK; a read-only one goes without, as
 * a client would send it (it cannot commit twice), and its last answer counts. The coordinator
 * certifies in {@link #PARTITIONS} partitions with a tiny window, and is killed mid-load and restarted;
 * the transactions in flight then are certified by the new process, with the reads of the old.
 *
 * <p>{@link TimestampOrderReplay} then replays the committed transactions in timestamp order: each must
 * have read exactly the versions the replay holds; each GET and batch read must have returned a value
 * some committed transaction wrote at that version, at either node; the coordinator's API, its
 * PostgreSQL and the caught-up mirror must end where the replay ends. The run must have adjusted
 * commits on both sides of the kill, or it proved nothing about them.
 *
 * <p>Run alone: {@code ./mvnw verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false
 * -Dit.test=SerializableHistoryIT}. Output in {@code target/serializable-it/}.
 */
class SerializableHistoryIT {
    private static final int KEYS = 12;
    /** Client threads: two at the coordinator, two through the mirror, two speculating at the mirror. */
    private static final int THREADS = 6;
    /** Recovery probes: histories set up before the kill, on keys of their own, finished after it. */
    private static final int PROBES = 3;
    /** presage.apply.cache-bytes: room for a few of the keys, so reads also come from PostgreSQL. */
    private static final long CACHE_BYTES = 1500;
    /**
     * presage.apply.gather: the applier waits up to this long to fill a page, so at the kill the log
     * holds about that much that the store has not applied. Recovery rebuilds certification from that
     * tail (writes exactly, reads as of the log's end); everything older it knows only as cold keys.
     */
    private static final String GATHER = "2s";
    /**
     * Certification in three partitions, so that most transactions take the two-phase path, each
     * keeping exact metadata for only six keys: the others live as floors and cold lookups.
     */
    private static final int PARTITIONS = 3;
    private static final int WINDOW_KEYS = 6;
    private static final Duration LOAD_BEFORE_KILL = Duration.ofSeconds(4);
    private static final Duration LOAD_AFTER_RESTART = Duration.ofSeconds(4);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    private static final Duration SETTLE_TIMEOUT = Duration.ofSeconds(30);

    /** Where a client thread reads and sends its transactions. */
    private enum Route { COORDINATOR, MIRROR, SPECULATIVE }

    /** One transaction's definitive answer. */
    private record Outcome(Route route, String id, List<Read> reads, Map<String, String> writes, boolean committed,
                           long ts, boolean adjusted, String reason, boolean sentAgain, long answeredAtNanos) {
    }

    private final Path logDir = NodeProcess.BASE_DIR.resolve("target/serializable-it");
    private final List<Outcome> outcomes = Collections.synchronizedList(new ArrayList<>());
    private final List<Committed> loads = Collections.synchronizedList(new ArrayList<>());
    private final List<Observed> observed = Collections.synchronizedList(new ArrayList<>());
    private final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicLong settleDeadline = new AtomicLong(Long.MAX_VALUE);
    private final AtomicInteger lostAnswers = new AtomicInteger();
    private volatile long killedAtNanos = Long.MAX_VALUE;
    private volatile long readyAgainAtNanos = Long.MAX_VALUE;
    private NodeProcess coordinator;
    private NodeProcess mirror;
    private final List<String> probeAnswers = new ArrayList<>();

    @Test
    void committedTransactionsReplayInTimestampOrderAcrossASigkill() {
        assertTimeoutPreemptively(Duration.ofSeconds(180), this::run);
    }

    private void run() throws Exception {
        Files.createDirectories(logDir);
        ExecutorService clients = Executors.newFixedThreadPool(THREADS);
        NatsTestServer nats = NatsTestServer.start();
        try {
            PostgresTestServer pg = PostgresTestServer.get();
            String db = pg.createDatabase();
            coordinator = NodeProcess.coordinator("coordinator", nats, pg, db, logDir,
                    Map.of("PRESAGE_APPLY_CACHE_BYTES", Long.toString(CACHE_BYTES), "PRESAGE_APPLY_GATHER", GATHER,
                            "PRESAGE_CERTIFICATION_PARTITIONS", Integer.toString(PARTITIONS),
                            "PRESAGE_CERTIFICATION_WINDOW_KEYS", Integer.toString(WINDOW_KEYS)));
            mirror = NodeProcess.mirror("mirror", coordinator, nats, pg, pg.createDatabase(), logDir);
            // Both start at once (one start-up instead of two in a row); the mirror follows the log, and
            // is waited for below until it has applied the loaded keys.
            coordinator.start();
            mirror.start();
            coordinator.awaitReady(READY_TIMEOUT);
            for (int k = 0; k < KEYS; k++) {
                load(key(k));
            }
            mirror.awaitReady(READY_TIMEOUT);
            mirror.awaitAppliedUpTo(coordinator.awaitApplied(Duration.ofSeconds(30)).path("committedSequence").asLong(),
                    Duration.ofSeconds(30));

            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                workers.add(clients.submit(() -> work(thread)));
            }
            Thread.sleep(LOAD_BEFORE_KILL.toMillis());
            List<Read> probes = prepareRecoveryProbes();
            killedAtNanos = System.nanoTime();
            coordinator.kill();
            coordinator.start();
            coordinator.awaitReady(READY_TIMEOUT);
            readyAgainAtNanos = System.nanoTime();
            probeRecovery(probes);
            Thread.sleep(LOAD_AFTER_RESTART.toMillis());
            stop.set(true);
            settleDeadline.set(System.nanoTime() + SETTLE_TIMEOUT.toNanos());
            for (Future<?> w : workers) {
                w.get(SETTLE_TIMEOUT.toSeconds() + 10, TimeUnit.SECONDS);
            }
            assertTrue(failures.isEmpty(), "client failures: " + failures);
            JsonNode status = coordinator.awaitApplied(Duration.ofSeconds(30));
            mirror.awaitAppliedUpTo(status.path("committedSequence").asLong(), Duration.ofSeconds(30));
            verify(pg, db, status.path("certification"));
        } finally {
            stop.set(true);
            settleDeadline.set(System.nanoTime());
            clients.shutdownNow();
            clients.awaitTermination(10, TimeUnit.SECONDS);
            NodeProcess.stopAll(mirror, coordinator);
            nats.close();
        }
    }

    // ---- the check ----------------------------------------------------------------------------

    private void verify(PostgresTestServer pg, String db, JsonNode certification) throws Exception {
        List<Committed> committed = new ArrayList<>(loads);
        int aborted = 0;
        int adjustedBefore = 0;
        int adjustedAfter = 0;
        int sentAgain = 0;
        int readOnly = 0;
        for (Outcome o : outcomes) {
            if (!o.committed()) {
                aborted++;
                continue;
            }
            committed.add(new Committed(o.id(), o.ts(), o.reads(), o.writes()));
            if (o.adjusted()) {
                if (o.answeredAtNanos() < killedAtNanos) {
                    adjustedBefore++;
                } else {
                    adjustedAfter++;
                }
            }
            if (o.sentAgain()) {
                sentAgain++;
            }
            if (o.writes().isEmpty()) {
                readOnly++;
            }
        }
        Map<String, Versioned> api = new HashMap<>();
        List<String> keys = committed.stream().flatMap(c -> c.writes().keySet().stream()).distinct().toList();
        for (String k : keys) {
            JsonNode item = JsonHttp.send(JsonHttp.get(coordinator.uri("/v1/kv/" + k))).json();
            api.put(k, new Versioned(item.path("version").asLong(), item.path("value").toString()));
        }
        Map<String, Versioned> atMirror = new HashMap<>();
        for (String k : keys) {
            JsonNode item = JsonHttp.send(JsonHttp.get(mirror.uri("/v1/kv/" + k))).json();
            atMirror.put(k, new Versioned(item.path("version").asLong(), item.path("value").toString()));
        }
        Map<String, Versioned> rows = new HashMap<>();
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(db), pg.username(), pg.password());
             PreparedStatement ps = c.prepareStatement(
                     "select item_key, item_value, version from items where item_key = any(?)")) {
            ps.setArray(1, c.createArrayOf("text", keys.toArray()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.put(rs.getString(1),
                            new Versioned(rs.getLong(3), JsonHttp.JSON.readTree(rs.getString(2)).toString()));
                }
            }
        }

        Map<Route, int[]> byRoute = new java.util.EnumMap<>(Route.class);
        for (Outcome o : outcomes) {
            byRoute.computeIfAbsent(o.route(), r -> new int[2])[o.committed() ? 0 : 1]++;
        }
        StringBuilder routes = new StringBuilder();
        byRoute.forEach((r, n) -> routes.append(routes.length() == 0 ? "" : ", ").append(r.name().toLowerCase(Locale.ROOT))
                .append(' ').append(n[0]).append('/').append(n[0] + n[1]));
        String summary = String.format(Locale.ROOT,
                "serializable history: %d transactions answered (%d COMMITTED, %d ABORTED; committed/answered by"
                        + " way of %s; %d of them read-only), %d reads observed;"
                        + " adjusted commits %d before the kill, %d after it; %d committed after a lost answer;"
                        + " %d answers lost to the kill; recovery probes: %s; the restarted certifier: %s",
                outcomes.size(), committed.size() - loads.size(), aborted, routes, readOnly, observed.size(), adjustedBefore,
                adjustedAfter, sentAgain, lostAnswers.get(), probeAnswers, certification);
        System.out.println(summary);
        Files.writeString(logDir.resolve("summary.txt"), summary + System.lineSeparator());

        List<String> throughApi = TimestampOrderReplay.violations(committed, observed, api, 20);
        List<String> inStore = TimestampOrderReplay.violations(committed, List.of(), rows, 20);
        List<String> mirrored = TimestampOrderReplay.violations(committed, List.of(), atMirror, 20);
        int before = adjustedBefore;
        int after = adjustedAfter;
        List<Executable> checks = new ArrayList<>();
        checks.add(() -> assertEquals(List.of(), throughApi, "the history through the API: " + summary));
        checks.add(() -> assertEquals(List.of(), inStore, "PostgreSQL's items: " + summary));
        checks.add(() -> assertEquals(List.of(), mirrored, "the mirror, caught up: " + summary));
        checks.add(() -> assertTrue(certification.path("partitions").asInt() == PARTITIONS
                        && certification.path("evictions").asLong() > 0,
                "several partitions, and keys evicted from the certifier's window: " + certification));
        for (Route route : Route.values()) {
            checks.add(() -> assertTrue(outcomes.stream().anyMatch(o -> o.route() == route && o.committed()),
                    "commits by way of " + route + ": " + summary));
        }
        checks.add(() -> assertTrue(before > 0 && after > 0,
                "adjusted commits on both sides of the kill, or the run proved nothing about them: " + summary));
        // A probe whose keys are cold after the restart tests nothing: its Y aborts because c's history is
        // gone. That happens when the applier took the probe's messages before the kill, or when the
        // replay and later writes pushed its keys out of the six-key window (the first probe, usually).
        // The last one is set up just before the kill and stays.
        checks.add(() -> assertTrue(probeAnswers.size() == PROBES && probeAnswers.stream()
                        .anyMatch(a -> !a.contains("UNKNOWN_VERSION") && !a.contains("HISTORY_TOO_SHORT")),
                "at least one probe must still be in the log's unapplied tail at the kill (the restarted"
                        + " certifier knows c's history), or they tested nothing: " + probeAnswers));
        assertAll(checks);
    }

    // ---- the clients ----------------------------------------------------------------------------

    /** Writes a key's first value as a transaction of its own, so that its version is known. */
    private void load(String key) {
        String value = JsonHttp.json("load-" + key);
        Map<String, String> writes = Map.of(key, value);
        Outcome o = commitUntilAnswered("load-" + key, List.of(), writes);
        assertTrue(o != null && o.committed(), key + " was not loaded: " + o + " " + failures);
        loads.add(new Committed(o.id(), o.ts(), List.of(), writes));
    }

    /**
     * Sets up, on keys of their own and just before the kill (so in the log's unapplied tail), the
     * history that recovery must not forget: X reads {@code a} and writes {@code x} at T_x; then Z
     * overwrites {@code c}. The log has no read sets, so a restarted certifier must assume every key was
     * read up to the log's end (DESIGN §3, recovery). Returns, per probe, the read of {@code c} made
     * before Z: stale, valid only below Z.
     */
    private List<Read> prepareRecoveryProbes() {
        List<Read> staleReads = new ArrayList<>();
        for (int p = 0; p < PROBES; p++) {
            String a = "probe" + p + "-a";
            String c = "probe" + p + "-c";
            load(a);
            load(c);
            List<Read> read = readEach(coordinator, List.of(a, c));
            Outcome x = commitUntilAnswered("probe" + p + "-x", List.of(read.get(0)), Map.of("probe" + p + "-x", "1"));
            Outcome z = commitUntilAnswered("probe" + p + "-z", List.of(), Map.of(c, "2"));
            assertTrue(x != null && x.committed() && z != null && z.committed(), "probe " + p + ": " + x + " " + z);
            staleReads.add(read.get(1));
        }
        return staleReads;
    }

    /**
     * After the restart, Y reads {@code c} at its stale version and writes {@code a}: it could only be
     * placed below Z, and must be above T_x, since X read {@code a}. A certifier that forgot X's read
     * places Y just above {@code a}'s last write, below T_x, and the replay finds X's read of {@code a}
     * overwritten under it. A correct one aborts Y (it cannot know that X's was the last read of
     * {@code a}).
     */
    private void probeRecovery(List<Read> staleReads) {
        probeAnswers.clear();
        for (int p = 0; p < staleReads.size(); p++) {
            Outcome y = commitUntilAnswered("probe" + p + "-y", List.of(staleReads.get(p)),
                    Map.of("probe" + p + "-a", JsonHttp.json("probe" + p + "-y")));
            assertTrue(y != null, "probe " + p + ": no answer for y " + failures);
            probeAnswers.add(y.committed() ? "y committed at " + y.ts() + (y.adjusted() ? " (adjusted)" : "")
                    : "y aborted (" + y.reason() + ")");
        }
    }

    private void work(int thread) {
        Route route = Route.values()[thread % Route.values().length];
        NodeProcess node = route == Route.COORDINATOR ? coordinator : mirror;
        Random random = new Random(7L * 1_000 + thread);
        try {
            for (long n = 0; !stop.get(); n++) {
                String id = "ser-t" + thread + "-" + n;
                List<String> picked = pick(random, 1 + random.nextInt(3));
                List<Read> reads = random.nextBoolean() ? readEach(node, picked) : readBatch(node, picked);
                if (reads == null) {
                    return; // already reported
                }
                if (random.nextInt(3) == 0) {
                    Thread.sleep(random.nextInt(20)); // what was read may be overwritten meanwhile
                }
                Map<String, String> writes = new LinkedHashMap<>();
                String value = JsonHttp.json(id);
                for (Read r : reads) {
                    if (random.nextInt(2) == 0) {
                        writes.put(r.key(), value);
                    }
                }
                if (random.nextInt(4) == 0) {
                    writes.put(key(random.nextInt(KEYS)), value); // blind, perhaps of a key read too
                }
                if (writes.isEmpty() && random.nextInt(3) != 0) {
                    writes.put(reads.get(0).key(), value); // now and then a read-only transaction
                }
                Outcome o = route == Route.SPECULATIVE ? speculateUntilDecided(id, reads, writes)
                        : commitUntilAnswered(route, node, id, reads, writes);
                if (o == null) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException | Error e) {
            failures.add("thread " + thread + ": " + e);
        }
    }

    private static List<String> pick(Random random, int n) {
        List<String> all = new ArrayList<>();
        for (int k = 0; k < KEYS; k++) {
            all.add(key(k));
        }
        Collections.shuffle(all, random);
        return all.subList(0, n);
    }

    /** One GET per key, each at whatever position the node reads at by then (a mirror: its own, locally). */
    private List<Read> readEach(NodeProcess node, List<String> keys) {
        List<Read> reads = new ArrayList<>();
        for (String k : keys) {
            JsonNode item = answerOf(JsonHttp.get(node.uri("/v1/kv/" + k)));
            if (item == null) {
                return null;
            }
            reads.add(observe(item));
        }
        return reads;
    }

    /** One batch read of all the keys, at one position. */
    private List<Read> readBatch(NodeProcess node, List<String> keys) {
        JsonNode answer = answerOf(JsonHttp.post(node.uri("/v1/kv/_batch"), JsonHttp.json(Map.of("keys", keys))));
        if (answer == null) {
            return null;
        }
        List<Read> reads = new ArrayList<>();
        for (JsonNode item : answer.path("items")) {
            reads.add(observe(item));
        }
        return reads;
    }

    private Read observe(JsonNode item) {
        Read r = new Read(item.path("key").asText(), item.path("version").asLong());
        observed.add(new Observed(r.key(), r.version(), item.path("value").toString()));
        return r;
    }

    /** A 200 answer, after retrying through the kill; null (and a failure) if none came in time. */
    private JsonNode answerOf(HttpRequest request) {
        return answerOf(request, 200);
    }

    /** An answer with {@code status}, after retrying through 503s, 504s and connection errors. */
    private JsonNode answerOf(HttpRequest request, int status) {
        Answered a = throughOutages(request);
        if (a == null) {
            return null;
        }
        if (a.response().statusCode() != status) {
            failures.add(request.uri() + ": " + a.response().statusCode() + " " + a.response().body());
            return null;
        }
        return JsonHttp.tree(a.response().body());
    }

    /** The first answer that is not 503 or 504, and whether any try before it was lost. */
    private record Answered(HttpResponse<String> response, boolean retried) {
    }

    /**
     * Sends until an answer other than 503 or 504 comes, through connection errors (the coordinator is
     * down, or died with the request); null (and a failure) if none came by the end.
     */
    private Answered throughOutages(HttpRequest request) {
        boolean retried = false;
        while (System.nanoTime() < settleDeadline.get()) {
            try {
                HttpResponse<String> r = JsonHttp.CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 503 && r.statusCode() != 504) {
                    return new Answered(r, retried);
                }
            } catch (IOException e) {
                // try again
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
            retried = true;
            JsonHttp.pause(50);
        }
        failures.add(request.method() + " " + request.uri() + ": no answer by the end");
        return null;
    }

    /** The coordinator's answers, for the loads and the probes. */
    private Outcome commitUntilAnswered(String id, List<Read> reads, Map<String, String> writes) {
        return commitUntilAnswered(Route.COORDINATOR, coordinator, id, reads, writes);
    }

    /**
     * Sends the transaction under {@code id} until a definitive answer: COMMITTED or ABORTED. The same
     * id again returns the first outcome, so an answer lost to the kill is learnt by asking again. A
     * mirror forwards it to the coordinator and answers with the coordinator's answer.
     */
    private Outcome commitUntilAnswered(Route route, NodeProcess node, String id, List<Read> reads,
                                        Map<String, String> writes) {
        // A read-only transaction goes without its id, as a client that need not fear committing twice would
        // send it; if an answer is lost, the retry's answer is the one that counts.
        HttpRequest request = JsonHttp.post(node.uri("/v1/transactions"), body(writes.isEmpty() ? null : id, reads, writes));
        Answered a = throughOutages(request); // the id makes a retry safe
        if (a == null) {
            return null;
        }
        boolean lost = a.retried();
        if (lost) {
            lostAnswers.incrementAndGet();
        }
        HttpResponse<String> r = a.response();
        JsonNode answer = JsonHttp.tree(r.body());
        if (r.statusCode() == 200 && "COMMITTED".equals(answer.path("status").asText())) {
            return answered(new Outcome(route, id, reads, writes, true, answer.path("timestamp").asLong(),
                    answer.path("adjusted").asBoolean(), null, lost, System.nanoTime()));
        }
        if (r.statusCode() == 409 && "ABORTED".equals(answer.path("status").asText())) {
            return answered(new Outcome(route, id, reads, writes, false, 0, false,
                    answer.path("reason").asText() + " " + answer.path("conflicts"), lost, System.nanoTime()));
        }
        failures.add(id + ": unexpected answer " + r.statusCode() + " " + r.body());
        return null;
    }

    /**
     * Speculates the transaction at the mirror (202 at once), then asks the mirror for its outcome until
     * the coordinator has decided it: COMMITTED (once the mirror has applied it) or ROLLED_BACK. A plain
     * transaction is never re-executed: the client computed its writes.
     */
    private Outcome speculateUntilDecided(String id, List<Read> reads, Map<String, String> writes) {
        JsonNode accepted = answerOf(JsonHttp.post(mirror.uri("/v1/transactions?speculative=true"), body(id, reads, writes)),
                202);
        if (accepted == null) {
            return null;
        }
        HttpRequest poll = JsonHttp.get(mirror.uri("/v1/transactions/" + id));
        while (true) {
            JsonNode outcome = answerOf(poll, 200);
            if (outcome == null) {
                return null;
            }
            switch (outcome.path("status").asText()) {
                case "SPECULATIVE" -> JsonHttp.pause(10);
                case "COMMITTED" -> {
                    return answered(new Outcome(Route.SPECULATIVE, id, reads, writes, true,
                            outcome.path("timestamp").asLong(), outcome.path("adjusted").asBoolean(), null,
                            outcome.path("attempts").asInt() > 1, System.nanoTime()));
                }
                case "ROLLED_BACK" -> {
                    return answered(new Outcome(Route.SPECULATIVE, id, reads, writes, false, 0, false,
                            outcome.path("reason").asText(), false, System.nanoTime()));
                }
                default -> {
                    failures.add(id + ": a plain transaction's speculation ended " + outcome);
                    return null;
                }
            }
        }
    }

    /** A transaction's body; {@code id} null: none. */
    private static String body(String id, List<Read> reads, Map<String, String> writes) {
        StringBuilder body = new StringBuilder("{");
        if (id != null) {
            body.append("\"id\":").append(JsonHttp.json(id)).append(',');
        }
        body.append("\"reads\":[");
        for (int i = 0; i < reads.size(); i++) {
            body.append(i == 0 ? "" : ",").append("{\"key\":").append(JsonHttp.json(reads.get(i).key()))
                    .append(",\"version\":").append(reads.get(i).version()).append('}');
        }
        body.append("],\"writes\":[");
        int w = 0;
        for (Map.Entry<String, String> e : writes.entrySet()) {
            body.append(w++ == 0 ? "" : ",").append("{\"key\":").append(JsonHttp.json(e.getKey()))
                    .append(",\"value\":").append(e.getValue()).append('}');
        }
        return body.append("]}").toString();
    }

    private Outcome answered(Outcome o) {
        if (!o.id().startsWith("load-")) {
            outcomes.add(o);
        }
        return o;
    }

    private static String key(int k) {
        return "ser-k" + k;
    }
}
