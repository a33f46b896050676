package io.presage.bench;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.bench.BenchArgs.Failure;
import io.presage.bench.BenchHttp.Reply;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;

/**
 * {@code ./presage demo}: a short mixed workload on a running coordinator and its mirrors, with progress
 * lines, then a plain-language report: commits and aborts, the aborts that adjusted timestamps avoided,
 * replication lag at each mirror, read-your-writes across regions shown with real values, the bank's
 * total at every node, and how far the confidence of local reads can be trusted (measured here, and the
 * mirrors' own calibration table when they report one).
 *
 * <p>The workload, on 20 bank accounts, a visit counter and 50 audit keys, from {@code --clients} closed
 * loops: transfers at the coordinator (30 %) and through mirror1 (15 %, forwarded); increments through
 * the last mirror (10 %); "audits" (20 %) that read two busy accounts at the coordinator and then commit a
 * transaction writing their sum to an audit key, which often read a version that has meanwhile been
 * overwritten, the case adaptive certification commits in the past instead of aborting; and local reads
 * of accounts at the mirrors (25 %), one in four of them checked against the coordinator right after.
 */
public final class Demo {
    static final String USAGE = "usage: ./presage demo [--seconds S (25)]   (the launcher starts the cluster; run directly:\n"
            + "       java -cp … io.presage.bench.Demo [--url URL (http://127.0.0.1:8080)] [--mirror URL]... [--seconds S] [--clients C (8)])";
    static final int ACCOUNTS = 20;
    static final long INITIAL = 1000;
    static final int AUDIT_KEYS = 50;
    static final String COUNTER = "demo-visits";
    private static final ObjectMapper JSON = new ObjectMapper();

    record Options(URI url, List<URI> mirrors, int seconds, int clients) {
    }

    static Options parse(String[] args) {
        URI url = URI.create("http://127.0.0.1:8080");
        List<URI> mirrors = new ArrayList<>();
        int seconds = 25;
        int clients = 8;
        for (Map.Entry<String, String> p : BenchArgs.pairs(args, java.util.Set.of())) {
            String a = p.getKey();
            String v = p.getValue();
            switch (a) {
                case "--url" -> url = BenchArgs.httpUrl(v, a);
                case "--mirror" -> mirrors.add(BenchArgs.httpUrl(v, a));
                case "--seconds" -> seconds = BenchArgs.positive(a, v);
                case "--clients" -> clients = BenchArgs.positive(a, v);
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (seconds < 5) {
            throw new IllegalArgumentException("--seconds must be at least 5, not " + seconds);
        }
        return new Options(url, List.copyOf(mirrors), seconds, clients);
    }

    static String account(int i) {
        return "demo-acct-" + i;
    }

    // ---------------------------------------------------------------------------------------------
    // Confidence of local reads, checked against the coordinator

    /** Confidence buckets, lowest first: {@code [bound(i), bound(i+1))}, the last one includes 1.0. */
    static final double[] BOUNDS = {0.0, 0.5, 0.8, 0.95, 0.99, 1.0};

    /** How long the report waits for the mirrors to decide the workload's sampled reads. */
    static final long SETTLE_MILLIS = 5_000;

    static final class Confidence {
        final AtomicLongArray reads = new AtomicLongArray(BOUNDS.length - 1);
        final AtomicLongArray checked = new AtomicLongArray(BOUNDS.length - 1);
        final AtomicLongArray current = new AtomicLongArray(BOUNDS.length - 1);

        static int bucket(double c) {
            for (int i = BOUNDS.length - 2; i > 0; i--) {
                if (c >= BOUNDS[i]) {
                    return i;
                }
            }
            return 0;
        }

        void read(double c) {
            reads.incrementAndGet(bucket(c));
        }

        void checked(double c, boolean wasCurrent) {
            int b = bucket(c);
            checked.incrementAndGet(b);
            if (wasCurrent) {
                current.incrementAndGet(b);
            }
        }

        long total() {
            long n = 0;
            for (int i = 0; i < reads.length(); i++) {
                n += reads.get(i);
            }
            return n;
        }

        /** The table, highest confidence first, one line a bucket that has reads. */
        String table() {
            long total = total();
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "      %-16s %9s %8s   %s%n", "confidence", "reads",
                    "share", "found current when checked at the coordinator"));
            for (int i = reads.length() - 1; i >= 0; i--) {
                long n = reads.get(i);
                if (n == 0) {
                    continue;
                }
                String range = i == reads.length() - 1 ? String.format(Locale.ROOT, "≥ %.2f", BOUNDS[i])
                        : String.format(Locale.ROOT, "%.2f – %.2f", BOUNDS[i], BOUNDS[i + 1]);
                long c = checked.get(i);
                String check = c == 0 ? "not checked" : String.format(Locale.ROOT, "%5.1f %% of %,d", 100.0 * current.get(i) / c, c);
                sb.append(String.format(Locale.ROOT, "      %-16s %,9d %7.1f %%   %s%n", range, n, 100.0 * n / total, check));
            }
            return sb.toString();
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Counters of the workload (any event loop)

    static final class Counts {
        final AtomicLong committedAtCoordinator = new AtomicLong();
        final AtomicLong committedViaMirrors = new AtomicLong();
        final AtomicLong adjusted = new AtomicLong();
        final AtomicLong conflicts = new AtomicLong();
        final AtomicLong refused = new AtomicLong();
        final AtomicLong unavailable = new AtomicLong();
        final AtomicLong localReads = new AtomicLong();
        final AtomicLong primaryReads = new AtomicLong();

        long committed() {
            return committedAtCoordinator.get() + committedViaMirrors.get();
        }
    }

    // ---------------------------------------------------------------------------------------------

    private final Options o;
    private final Vertx vertx;
    private final BenchHttp http;
    private final LagProbes lag;
    private final Counts counts = new Counts();
    private final Confidence confidence = new Confidence();
    private final Map<URI, String> names = new LinkedHashMap<>();

    private Demo(Options o) {
        this.o = o;
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(1).setWorkerPoolSize(1).setInternalBlockingPoolSize(1));
        this.http = new BenchHttp(vertx, o.clients());
        this.lag = new LagProbes(vertx, o.mirrors(), TimeUnit.MILLISECONDS.toNanos(20));
    }

    public static void main(String[] args) {
        Options parsed = BenchArgs.parseOrExit("demo", USAGE, () -> parse(args));
        Options o = parsed.mirrors().isEmpty()
                ? new Options(parsed.url(), MirrorDiscovery.find(parsed.url()), parsed.seconds(), parsed.clients()) : parsed;
        Demo demo = new Demo(o);
        BenchArgs.runAndExit("demo", demo.vertx, demo::run);
    }

    private int run() throws Exception {
        checkCluster();
        say("");
        say("Presage demo: one coordinator (the primary, where every write is certified) and %d mirror(s), each with its own "
                + "PostgreSQL, following the coordinator's log on NATS JetStream.", o.mirrors().size());
        say("  coordinator %s", o.url());
        for (URI m : o.mirrors()) {
            say("  %-11s %s", names.get(m), m);
        }
        setUp();
        JsonNode before = status(o.url()).path("certification");
        CalibrationReport calibrationBefore = mirrorsCalibration();
        say("");
        say("Running a mixed workload for %d s with %d concurrent clients: transfers at the coordinator and through %s, "
                + "visit counts through %s, audits that read two busy accounts and record their sum, and local reads at the "
                + "mirrors…", o.seconds(), o.clients(), names.get(o.mirrors().get(0)), names.get(last()));
        ClosedLoop load = new ClosedLoop(vertx, o.clients(), 0xDE30);
        long[] lastCommitted = {0};
        ClosedLoop.Result r = load.run(o.seconds(), this::oneOperation, (s, n) -> {
            if (s % 5 == 0) {
                long c = counts.committed();
                long[] lags = lag.sorted();
                say("  [%2d s] %,d commits so far (%,d/s lately; %,d via mirrors), %,d aborted by conflicts, %,d in the past "
                                + "instead, %,d local reads at the mirrors; mirror lag p99 so far %s ms",
                        s, c, (c - lastCommitted[0]) / 5, counts.committedViaMirrors.get(), counts.conflicts.get(),
                        counts.adjusted.get(), counts.localReads.get(),
                        lags.length == 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", LatencyLog.percentileMillis(lags, 0.99)));
                lastCommitted[0] = c;
            }
        });
        lag.awaitProbes();
        JsonNode after = status(o.url()).path("certification");
        if (counts.committed() == 0) {
            throw new Failure("nothing committed during the workload; first error: " + r.firstError());
        }
        String fence = put(o.url(), "demo-fence", "{\"at\":\"" + LocalTime.now().truncatedTo(ChronoUnit.MILLIS) + "\"}")
                .path("token").asText();
        // Before the read-your-writes part: its reads right after a write are chosen to be stale.
        CalibrationReport calibration = settledCalibration().minus(calibrationBefore);
        say("  done: %,d operations in %.0f s (%,d failed%s).", r.done(), r.seconds(), r.errors(),
                r.firstError() == null ? "" : "; first: " + r.firstError());

        readYourWrites();
        speculation();
        report(before, after, r.seconds(), fence, calibration);
        return 0;
    }

    // ---- set-up ---------------------------------------------------------------------------

    private void checkCluster() throws Exception {
        JsonNode s;
        try {
            s = status(o.url());
        } catch (Failure e) {
            throw new Failure("cannot reach the coordinator at " + o.url() + ": start the cluster with ./presage up --mirrors 2 "
                    + "(./presage demo does it)");
        }
        if (!"coordinator".equals(s.path("role").asText())) {
            throw new Failure(o.url() + " is a " + s.path("role").asText("?") + ", not the coordinator");
        }
        if (o.mirrors().isEmpty()) {
            throw new Failure("no mirror found on the ports after the coordinator's: start them with ./presage up --mirrors 2");
        }
        for (URI m : o.mirrors()) {
            JsonNode ms = status(m);
            if (!"mirror".equals(ms.path("role").asText())) {
                throw new Failure(m + " is a " + ms.path("role").asText("?") + ", not a mirror");
            }
            names.put(m, ms.path("nodeId").asText(m.toString()));
        }
    }

    private URI last() {
        return o.mirrors().get(o.mirrors().size() - 1);
    }

    /** 20 accounts of 1000 and the counter, in one transaction; waits until every mirror has them. */
    private void setUp() throws Exception {
        StringBuilder writes = new StringBuilder();
        for (int i = 0; i < ACCOUNTS; i++) {
            writes.append("{\"key\":\"").append(account(i)).append("\",\"value\":").append(INITIAL).append("},");
        }
        writes.append("{\"key\":\"").append(COUNTER).append("\",\"value\":0}");
        Reply a = http.await(HttpMethod.POST, o.url(), "/v1/transactions", "{\"reads\":[],\"writes\":[" + writes + "]}");
        if (a.status() != 200) {
            throw new Failure("setting up the accounts at the coordinator: " + a.status() + " " + a.text());
        }
        String token = JsonFields.topLevelString(a.string(), "token");
        long t0 = System.nanoTime();
        for (URI m : o.mirrors()) {
            causal(m, account(0), token);
        }
        say("");
        say("Set up %d bank accounts of %,d each and a visit counter at the coordinator; every mirror had them %.0f ms later.",
                ACCOUNTS, INITIAL, (System.nanoTime() - t0) / 1e6);
    }

    // ---- the workload ------------------------------------------------------------------------

    /** A busy account: half the picks go to the first five (the ones transfers pay into and audits read). */
    private static int busyAccount(ClosedLoop.Client c) {
        return c.rnd.nextBoolean() ? c.rnd.nextInt(5) : c.rnd.nextInt(ACCOUNTS);
    }

    private Future<?> oneOperation(ClosedLoop.Client c) {
        int dice = c.rnd.nextInt(100);
        if (dice < 30) {
            return transfer(c, o.url());
        } else if (dice < 45) {
            return transfer(c, o.mirrors().get(0));
        } else if (dice < 55) {
            return commit(last(), "/v1/procedures/increment", "{\"key\":\"" + COUNTER + "\",\"by\":1}", null);
        } else if (dice < 75) {
            return audit(c);
        }
        return localRead(c);
    }

    private Future<?> transfer(ClosedLoop.Client c, URI node) {
        // Money flows into the busy accounts (which the audits read), from any account.
        int to = busyAccount(c);
        int from = (to + 1 + c.rnd.nextInt(ACCOUNTS - 1)) % ACCOUNTS;
        return commit(node, "/v1/procedures/transfer", "{\"from\":\"" + account(from) + "\",\"to\":\"" + account(to)
                + "\",\"amount\":" + (1 + c.rnd.nextInt(50)) + "}", account(from));
    }

    /** Reads two busy accounts at the coordinator, then records their sum under an audit key, reading both. */
    private Future<?> audit(ClosedLoop.Client c) {
        int ia = busyAccount(c);
        int ib = busyAccount(c);
        if (ib == ia) {
            ib = (ia + 1 + c.rnd.nextInt(ACCOUNTS - 1)) % ACCOUNTS; // a transaction reads a key once
        }
        String a = account(ia);
        String b = account(ib);
        String target = "demo-audit-" + c.rnd.nextInt(AUDIT_KEYS);
        return readItem(o.url(), a).compose(ra -> readItem(o.url(), b).compose(rb -> {
            String body = "{\"reads\":[{\"key\":\"" + a + "\",\"version\":" + ra.path("version").asLong() + "},{\"key\":\"" + b
                    + "\",\"version\":" + rb.path("version").asLong() + "}],\"writes\":[{\"key\":\"" + target
                    + "\",\"value\":{\"sum\":" + (ra.path("value").asLong() + rb.path("value").asLong()) + ",\"of\":[\"" + a + "\",\""
                    + b + "\"]}}]}";
            return commit(o.url(), "/v1/transactions", body, null);
        }));
    }

    /** Sends a write, counts its outcome; {@code probeKey}: measure the lag of this commit on that key. */
    private Future<?> commit(URI node, String path, String body, String probeKey) {
        return http.call(HttpMethod.POST, node, path, Buffer.buffer(body)).compose(r -> {
            long now = System.nanoTime();
            String text = r.string();
            switch (r.status()) {
                case 200 -> {
                    (node.equals(o.url()) ? counts.committedAtCoordinator : counts.committedViaMirrors).incrementAndGet();
                    if (text.contains("\"adjusted\":true")) {
                        counts.adjusted.incrementAndGet();
                    }
                    if (probeKey != null && node.equals(o.url())) {
                        lag.maybeProbe(probeKey, r.body().getBytes(), now);
                    }
                }
                case 409 -> (text.contains("INSUFFICIENT_FUNDS") ? counts.refused : counts.conflicts).incrementAndGet();
                case 503, 504 -> counts.unavailable.incrementAndGet();
                default -> {
                    return Future.failedFuture("POST " + path + " at " + node + ": " + r.status() + " " + r.text());
                }
            }
            return Future.succeededFuture();
        });
    }

    private Future<JsonNode> readItem(URI node, String key) {
        return http.call(HttpMethod.GET, node, "/v1/kv/" + key, null).compose(r -> {
            if (r.status() != 200 && r.status() != 404) {
                return Future.failedFuture("GET /v1/kv/" + key + " at " + node + ": " + r.status() + " " + r.text());
            }
            try {
                return Future.succeededFuture(JSON.readTree(r.string()));
            } catch (IOException e) {
                return Future.failedFuture("GET /v1/kv/" + key + " at " + node + ": not JSON: " + r.text());
            }
        });
    }

    /** A predictive read at a random mirror; one in four is checked against the coordinator right after. */
    private Future<?> localRead(ClosedLoop.Client c) {
        URI mirror = o.mirrors().get(c.rnd.nextInt(o.mirrors().size()));
        String key = account(busyAccount(c));
        boolean check = c.rnd.nextInt(4) == 0;
        return readItem(mirror, key).compose(local -> {
            if (!"local".equals(local.path("source").asText("local"))) {
                counts.primaryReads.incrementAndGet();
                return Future.succeededFuture();
            }
            counts.localReads.incrementAndGet();
            double conf = local.path("confidence").asDouble(Double.NaN);
            if (Double.isNaN(conf)) {
                return Future.succeededFuture();
            }
            confidence.read(conf);
            if (!check) {
                return Future.succeededFuture();
            }
            return readItem(o.url(), key).map(primary -> {
                confidence.checked(conf, primary.path("version").asLong() == local.path("version").asLong());
                return null;
            });
        });
    }

    // ---- read-your-writes ----------------------------------------------------------------------

    private void readYourWrites() throws Exception {
        URI first = o.mirrors().get(0);
        URI other = last();
        say("");
        say("Read-your-writes across regions: write in one place, read at %s with the write's token "
                + "(consistency=causal&after=TOKEN), which waits until that mirror has applied the write.", names.get(other));
        String greeting = "\"hello from the coordinator at " + LocalTime.now().truncatedTo(ChronoUnit.MILLIS) + "\"";
        JsonNode w1 = put(o.url(), "demo-greeting", greeting);
        showRoundTrip(1, "PUT demo-greeting = " + greeting + " at the coordinator", "demo-greeting", w1, other);

        String profile = "{\"name\":\"Ada\",\"city\":\"Lisbon\",\"updated\":\"" + LocalTime.now().truncatedTo(ChronoUnit.MILLIS) + "\"}";
        JsonNode w2 = put(first, "demo-profile", profile);
        showRoundTrip(2, "PUT demo-profile = " + profile + " at " + names.get(first) + " (forwarded to the coordinator)",
                "demo-profile", w2, other);

        Reply inc = http.await(HttpMethod.POST, first, "/v1/procedures/increment", "{\"key\":\"" + COUNTER + "\",\"by\":1}");
        if (inc.status() != 200) {
            throw new Failure("increment at " + first + ": " + inc.status() + " " + inc.text());
        }
        JsonNode w3 = JSON.readTree(inc.string());
        showRoundTrip(3, "increment " + COUNTER + " at " + names.get(first) + " (forwarded) → " + w3.path("result"), COUNTER, w3, other);
    }

    /**
     * Two speculative increments of one counter, one at each end of the mirror list, sent together:
     * both are answered at once from the mirrors' own data, and at most one can win certification with
     * the version it read; the other is re-executed on the latest data. The counter must end up two higher.
     */
    private void speculation() throws Exception {
        List<URI> at = List.of(o.mirrors().get(0), last());
        say("");
        say("Speculative transactions (?speculative=true): the mirror answers at once from its own copy, and the coordinator "
                + "decides afterwards. Two increments of %s, at %s and %s, sent together:", COUNTER, names.get(at.get(0)),
                names.get(at.get(1)));
        long start = counter();
        String tag = Long.toString(System.currentTimeMillis(), 36);
        List<String> ids = List.of("demo-spec-" + tag + "-1", "demo-spec-" + tag + "-2");
        long t0 = System.nanoTime();
        List<Future<Reply>> sent = new ArrayList<>();
        double[] answeredMs = new double[2];
        for (int i = 0; i < 2; i++) {
            int n = i;
            sent.add(http.call(HttpMethod.POST, at.get(i), "/v1/procedures/increment?speculative=true&id=" + ids.get(i),
                    Buffer.buffer("{\"key\":\"" + COUNTER + "\"}"))
                    .onComplete(x -> answeredMs[n] = (System.nanoTime() - t0) / 1e6));
        }
        for (int i = 0; i < 2; i++) {
            Reply r = sent.get(i).toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
            if (r.status() != 202) {
                throw new Failure("speculative increment at " + at.get(i) + ": " + r.status() + " " + r.text());
            }
            say("  %s answered 202 SPECULATIVE in %.1f ms with result %s (computed on its own copy)", names.get(at.get(i)),
                    answeredMs[i], JSON.readTree(r.string()).path("result"));
        }
        int applied = 0; // speculations whose increment committed, as speculated or run again
        for (int i = 0; i < 2; i++) {
            JsonNode outcome = outcome(at.get(i), ids.get(i));
            String status = outcome.path("status").asText();
            applied += status.equals("COMMITTED") || status.equals("REEXECUTED") ? 1 : 0;
            say("  %s's speculation: %s after %.0f ms%s", names.get(at.get(i)), status, (System.nanoTime() - t0) / 1e6,
                    switch (status) {
                        case "COMMITTED" -> ", as speculated";
                        case "REEXECUTED" -> ": it lost certification (the version it read had been overwritten), so it ran "
                                + "again on the latest data, result " + outcome.path("result") + " after " + outcome.path("attempts")
                                + " attempts";
                        default -> ": " + outcome.path("reason").asText() + " " + outcome.path("message").asText();
                    });
        }
        long end = counter();
        if (end != start + applied) {
            // Nothing else increments it now (the workload is over): an increment lost or counted twice.
            throw new Failure(COUNTER + " went from " + start + " to " + end + " with " + applied
                    + " increment(s) committed: not each counted once");
        }
        say("  %s went from %d to %d  ✓ each committed increment counted once", COUNTER, start, end);
    }

    private long counter() throws Exception {
        Reply r = http.await(HttpMethod.GET, o.url(), "/v1/kv/" + COUNTER);
        return r.status() == 200 ? JSON.readTree(r.string()).path("value").asLong() : 0;
    }

    /** {@code GET /v1/transactions/{id}} until the speculation is decided (15 s at most). */
    private JsonNode outcome(URI mirror, String id) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (true) {
            Reply r = http.await(HttpMethod.GET, mirror, "/v1/transactions/" + id);
            JsonNode o = r.status() == 200 ? JSON.readTree(r.string()) : null;
            if (o != null && !o.path("status").asText().equals("SPECULATIVE")) {
                return o;
            }
            if (System.nanoTime() > deadline) {
                throw new Failure("speculation " + id + " at " + mirror + " not decided after 15 s: " + r.status() + " " + r.text());
            }
            Thread.sleep(10);
        }
    }

    private void showRoundTrip(int n, String what, String key, JsonNode write, URI reader) throws Exception {
        long version = write.path("timestamp").asLong();
        String token = write.path("token").asText();
        say("  %d. %s: COMMITTED, version %d, token %s", n, what, version, token);
        Reply plain = http.await(HttpMethod.GET, reader, "/v1/kv/" + key);
        JsonNode p = JSON.readTree(plain.string());
        say("     %s right away without the token (predictive): %s", names.get(reader), plain.status() == 404 ? "not found yet"
                : "version " + p.path("version").asLong() + (p.path("version").asLong() == version ? " (already there)" : " (older)")
                + ", confidence " + p.path("confidence"));
        long t0 = System.nanoTime();
        JsonNode r = causal(reader, key, token);
        double waited = (System.nanoTime() - t0) / 1e6;
        boolean ok = r.path("version").asLong() == version;
        say("     %s with after=%s: %s, version %d, answered in %.1f ms  %s", names.get(reader), token, r.path("value"),
                r.path("version").asLong(), waited, ok ? "✓ the write is there" : "✗ NOT the version written");
        if (!ok) {
            throw new Failure("read-your-writes failed at " + reader + ": expected version " + version + ", got " + r);
        }
    }

    // ---- the report ----------------------------------------------------------------------------

    private void report(JsonNode before, JsonNode after, double seconds, String fence, CalibrationReport calibration)
            throws Exception {
        long committed = counts.committed();
        long certCommitted = delta(before, after, "committed");
        long certAborted = delta(before, after, "aborted");
        long certAdjusted = delta(before, after, "adjusted");
        long adjusted = certAdjusted >= 0 ? certAdjusted : counts.adjusted.get();
        say("");
        say("Report (%.0f s of workload):", seconds);
        say("  Commits: %,d transactions committed, %,.0f per second: %,d sent to the coordinator, %,d sent to a mirror and "
                + "forwarded to it.", committed, committed / seconds, counts.committedAtCoordinator.get(), counts.committedViaMirrors.get());
        say("           (the coordinator's certifier counted %s commits and %s aborts, including the retries inside procedures)",
                certCommitted < 0 ? "n/a" : String.format(Locale.ROOT, "%,d", certCommitted),
                certAborted < 0 ? "n/a" : String.format(Locale.ROOT, "%,d", certAborted));
        say("  Aborts: %,d transactions were aborted because what they had read was overwritten in a way no commit time could "
                + "fix; %,d transfers were refused for insufficient funds (the business rule, not a conflict).",
                counts.conflicts.get(), counts.refused.get());
        say("  Aborts avoided: %,d transactions had read a value that was overwritten before they committed, and still "
                + "committed: the coordinator placed them at a timestamp in the past at which everything they read was "
                + "current (adaptive timestamp certification). Plain optimistic certification (policy basic) would have "
                + "aborted each of them: %,d certifications aborted instead of %,d (an estimate from the certifier's count, "
                + "which includes attempts inside procedures; a procedure runs again after an abort, so not every one "
                + "would reach a client).", adjusted, adjusted + counts.conflicts.get(), counts.conflicts.get());
        if (counts.unavailable.get() > 0) {
            say("  Unavailable: %,d requests were answered 503 (nothing done; retry is safe) or 504 (not known in time; "
                    + "retry under the same id).", counts.unavailable.get());
        }

        say("  Mirror lag (commit acknowledged at the coordinator → visible in a read at the mirror):");
        for (URI m : o.mirrors()) {
            long[] l = lag.sorted(m);
            say("      %-9s p50 %s ms, p99 %s ms (%,d commits sampled)", names.get(m),
                    l.length == 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", LatencyLog.percentileMillis(l, 0.5)),
                    l.length == 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", LatencyLog.percentileMillis(l, 0.99)), l.length);
        }
        if (lag.timeouts() > 0) {
            say("      %,d sampled commits were not visible within 10 s", lag.timeouts());
        }
        double youngest = youngestMirrorUptimeSeconds();
        if (youngest < WARM_MIRROR_SECONDS) {
            say("      (a mirror started %.0f s before this report: its JIT compiler was still at work during the workload, which",
                    youngest);
            say("       shows in the p99; on warm mirrors, ./presage bench commit --rate 580 measures the steady lag, see BENCHMARKS.md)");
        }
        for (URI m : o.mirrors()) {
            JsonNode lagNow = status(m).path("lag");
            if (!lagNow.isMissingNode()) {
                say("      %-9s reports its lag now: %s sequences, %s s", names.get(m), lagNow.path("sequences"), lagNow.path("seconds"));
            }
        }

        List<String> keys = new ArrayList<>();
        for (int i = 0; i < ACCOUNTS; i++) {
            keys.add(account(i));
        }
        StringBuilder totals = new StringBuilder();
        boolean same = true;
        for (URI node : nodes()) {
            long total = bankTotal(node, keys, fence);
            same &= total == ACCOUNTS * INITIAL;
            totals.append(totals.length() == 0 ? "" : ", ").append(nodeName(node)).append(String.format(Locale.ROOT, " %,d", total));
        }
        say("  Bank: the %d accounts add up to %s (one consistent batch read at each node, after the workload) — %s",
                ACCOUNTS, totals, same ? "no money created or lost anywhere." : "NOT the " + ACCOUNTS * INITIAL + " they started with!");
        if (!same) {
            throw new Failure("the bank total differs from " + ACCOUNTS * INITIAL + " at some node: " + totals);
        }

        say("  Local reads at the mirrors: %,d answered from the mirror's own PostgreSQL copy%s. Each comes with a confidence, "
                + "the estimated probability that it is the primary's current version; calibrated means that of the reads given "
                + "about 0.9, about 90 %% were current.", counts.localReads.get(),
                counts.primaryReads.get() == 0 ? "" : String.format(Locale.ROOT, " (%,d more answered from the primary)",
                        counts.primaryReads.get()));
        calibrationReport(calibration);
        say("");
        say("The cluster keeps its data in .presage/ (./presage down --wipe deletes it). Try: ./presage up --mirrors 2, then "
                + "curl -s 'http://127.0.0.1:8082/v1/kv/demo-greeting?consistency=strong'");
    }

    private void calibrationReport(CalibrationReport exact) {
        if (exact.samples() > 0) {
            say("      Checked exactly by the mirrors themselves (%,d reads during the workload; a read was stale iff its mirror's log "
                    + "holds a newer write of the key committed before the read):", exact.samples());
            System.out.print(exact.table("      "));
            say("      calibration error %.3f (the gap between confidence given and share found current, averaged over the reads; "
                    + "0 is perfect)", exact.calibrationError());
            String top = exact.topDecileStaleness();
            if (top != null) {
                say("      %s", top);
            }
        } else {
            say("      The mirrors checked none of these reads themselves (presage.mirror.calibration-sample-rate is 0 on them; "
                    + "./presage demo starts mirrors that check every read).");
        }
        if (confidence.total() > 0) {
            say("      Cross-check from this client: one read in four compared with the coordinator's version right after it "
                    + "(a commit in between counts as stale, so this side reads low):");
            System.out.print(confidence.table());
        }
    }

    /** The mirrors' calibration tables, summed. */
    private CalibrationReport mirrorsCalibration() {
        CalibrationReport sum = new CalibrationReport();
        for (URI m : o.mirrors()) {
            sum = sum.plus(CalibrationReport.of(status(m).path("calibration")));
        }
        return sum;
    }

    /**
     * The mirrors' tables once the reads of the workload are decided: a sampled read is decided when its
     * mirror has applied the log a margin past it, so this waits (at most {@value #SETTLE_MILLIS} ms)
     * until no mirror has open samples.
     */
    private CalibrationReport settledCalibration() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(SETTLE_MILLIS);
        while (System.nanoTime() < deadline && openCalibrationSamples() > 0) {
            Thread.sleep(100);
        }
        return mirrorsCalibration();
    }

    private long openCalibrationSamples() {
        long open = 0;
        for (URI m : o.mirrors()) {
            open += status(m).path("calibrationOpenSamples").asLong(0);
        }
        return open;
    }

    private List<URI> nodes() {
        List<URI> all = new ArrayList<>();
        all.add(o.url());
        all.addAll(o.mirrors());
        return all;
    }

    private String nodeName(URI node) {
        return node.equals(o.url()) ? "coordinator" : names.get(node);
    }

    private long bankTotal(URI node, List<String> keys, String token) throws Exception {
        String query = node.equals(o.url()) ? "" : "?consistency=causal&after=" + enc(token) + "&timeoutMs=20000";
        Reply r = http.await(HttpMethod.POST, node, "/v1/kv/_batch" + query, JSON.writeValueAsString(Map.of("keys", keys)));
        if (r.status() != 200) {
            throw new Failure("batch read of the accounts at " + nodeName(node) + ": " + r.status() + " " + r.text());
        }
        long total = 0;
        for (JsonNode item : JSON.readTree(r.string()).path("items")) {
            total += item.path("value").asLong();
        }
        return total;
    }

    static long delta(JsonNode before, JsonNode after, String field) {
        JsonNode a = after.path(field);
        JsonNode b = before.path(field);
        return a.isNumber() && b.isNumber() ? a.asLong() - b.asLong() : -1;
    }

    // ---- small helpers -----------------------------------------------------------------------

    /**
     * Below this uptime a mirror the demo has just started is likely still JIT-compiling its apply and
     * read paths (2–3 min of load on 2 slow cores); the demo's mirrors are always fresh, so uptime is
     * the signal here (the commit bench counts the coordinator's commits instead).
     */
    static final double WARM_MIRROR_SECONDS = 120;

    /** How long the most recently started mirror has been running (its /q/metrics); infinite if unknown. */
    private double youngestMirrorUptimeSeconds() {
        double youngest = Double.POSITIVE_INFINITY;
        for (URI m : o.mirrors()) {
            try {
                Reply r = http.await(HttpMethod.GET, m, "/q/metrics");
                if (r.status() == 200) {
                    youngest = Math.min(youngest, PrometheusText.parse(r.string()).sum("process_uptime_seconds")
                            .orElse(Double.POSITIVE_INFINITY));
                }
            } catch (Exception e) {
                // the note is optional; the report goes on without it
            }
        }
        return youngest;
    }

    private JsonNode status(URI node) {
        try {
            Reply r = http.await(HttpMethod.GET, node, "/v1/status");
            if (r.status() != 200) {
                throw new Failure(node + "/v1/status answered " + r.status() + " " + r.text());
            }
            return JSON.readTree(r.string());
        } catch (Failure e) {
            throw e;
        } catch (Exception e) {
            Throwable c = e.getCause() == null ? e : e.getCause();
            throw new Failure("cannot reach " + node + " (" + c.getMessage() + ")");
        }
    }

    private JsonNode put(URI node, String key, String json) throws Exception {
        Reply r = http.await(HttpMethod.PUT, node, "/v1/kv/" + key, json);
        if (r.status() != 200) {
            throw new Failure("PUT /v1/kv/" + key + " at " + node + ": " + r.status() + " " + r.text());
        }
        return JSON.readTree(r.string());
    }

    private JsonNode causal(URI mirror, String key, String token) throws Exception {
        Reply r = null;
        // A 504 says the mirror has not applied the position yet: on a machine this loaded (three nodes,
        // PostgreSQL, NATS and this client on two cores) that once took longer than 10 s, so the demo
        // waits up to three times before calling it a failure.
        for (int i = 0; i < 3 && (r == null || r.status() == 504); i++) {
            r = http.await(HttpMethod.GET, mirror, "/v1/kv/" + key + "?consistency=causal&after=" + enc(token) + "&timeoutMs=10000");
        }
        JsonNode body = r.string().isBlank() ? null : JSON.readTree(r.string());
        if (r.status() != 200 || body == null || !body.isObject()) {
            // Say exactly what came back. (A "200, no body" once seen here was the client losing the
            // body, not the mirror: see BenchHttp.call.)
            throw new Failure("causal read of " + key + " at " + mirror + " after " + token + ": HTTP " + r.status()
                    + " with " + (r.body() == null ? "no body" : r.body().length() + " bytes: '" + r.text() + "'"));
        }
        return body;
    }

    private static String enc(String token) {
        return URLEncoder.encode(token, StandardCharsets.UTF_8);
    }

    private static void say(String format, Object... args) {
        System.out.println(args.length == 0 ? format : String.format(Locale.ROOT, format, args));
    }
}
