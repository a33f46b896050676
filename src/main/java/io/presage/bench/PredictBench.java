package io.presage.bench;

import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.bench.BenchHttp.Reply;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;

/**
 * {@code ./presage bench predict}: what the prediction engine (DESIGN §7) is worth at a mirror, in one
 * run, on four workloads that take turns phase by phase against the same mirror and coordinator (each
 * round starting one later, so that none always runs first):
 * <ul>
 * <li><b>sessions</b>: each session visits one of U users and reads its three keys in order (profile →
 *     orders → cart), pausing {@code think} ms between reads, with {@code minConfidence} and the
 *     {@code Presage-Session} header: a workload with structure, that the mirror may learn and prefetch;</li>
 * <li><b>anonymous</b>: the same visits without the header, so nothing is learned or prefetched: the
 *     baseline;</li>
 * <li><b>random</b>: three random keys of all users per session, with the header: no structure, where
 *     prediction must not hurt;</li>
 * <li><b>random-anon</b>: the same without the header, its baseline.</li>
 * </ul>
 * Meanwhile the coordinator takes blind writes of random keys at {@code writes}/s, so that keys change
 * and a read's confidence falls below {@code minConfidence} often enough to matter. Per workload: the
 * share of reads answered locally (the rest were reconciled with the coordinator first), read latency,
 * the coordinator requests per 100 reads (the mirror's reconcile POSTs, prefetches included: the cost),
 * and from the mirror's status the precision and recall of its predictions (judged by each session's next
 * read). Against a mirror with prediction off it runs too: the workloads are then baselines of each
 * other, and their differences are the bench's noise. Last line: {@code RESULT {json}}.
 */
public final class PredictBench {

    static final String USAGE = "usage: ./presage bench predict [--url URL (http://127.0.0.1:8081, a mirror)] [--coordinator URL]\n"
            + "         [--seconds S (10, per phase)] [--rounds R (4)] [--clients C (16)] [--users U (100)]\n"
            + "         [--writes W (300, blind writes/s at the coordinator)] [--min-confidence P (0.99)] [--think-ms T (2)]\n"
            + "         [--warmup S (5)] [--io-threads N (1)]";
    static final String[] CHAIN = {"profile", "orders", "cart"};
    static final String SESSION_HEADER = "Presage-Session";
    private static final ObjectMapper JSON = new ObjectMapper();

    record Options(URI url, URI coordinator, int seconds, int rounds, int clients, int users, int writes,
                   double minConfidence, int thinkMs, int warmup, int ioThreads) {
    }

    enum Workload {
        SESSIONS("chains, with Presage-Session"), ANONYMOUS("the same chains, no session header"),
        RANDOM("random keys, with Presage-Session"), RANDOM_ANONYMOUS("the same, no session header");

        final String what;

        Workload(String what) {
            this.what = what;
        }

        String id() {
            return name().toLowerCase(Locale.ROOT).replace("random_anonymous", "random-anon");
        }
    }

    static Options parse(String[] args) {
        URI url = URI.create("http://127.0.0.1:8081");
        URI coordinator = null;
        int seconds = 10;
        int rounds = 4;
        int clients = 16;
        int users = 100;
        int writes = 300;
        double minConfidence = 0.99;
        int thinkMs = 2;
        int warmup = 5;
        int ioThreads = 1;
        for (Map.Entry<String, String> p : BenchArgs.pairs(args, Set.of())) {
            String a = p.getKey();
            String v = p.getValue();
            switch (a) {
                case "--url" -> url = BenchArgs.httpUrl(v, a);
                case "--coordinator" -> coordinator = BenchArgs.httpUrl(v, a);
                case "--seconds" -> seconds = BenchArgs.positive(a, v);
                case "--rounds" -> rounds = BenchArgs.positive(a, v);
                case "--clients" -> clients = BenchArgs.positive(a, v);
                case "--users" -> users = BenchArgs.positive(a, v);
                case "--writes" -> writes = BenchArgs.nonNegative(a, v);
                case "--min-confidence" -> minConfidence = BenchArgs.probability(a, v);
                case "--think-ms" -> thinkMs = BenchArgs.nonNegative(a, v);
                case "--warmup" -> warmup = BenchArgs.nonNegative(a, v);
                case "--io-threads" -> ioThreads = BenchArgs.positive(a, v);
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        return new Options(url, coordinator, seconds, rounds, clients, users, writes, minConfidence, thinkMs, warmup, ioThreads);
    }

    static String key(int user, int step) {
        return "pb-u" + user + "-" + CHAIN[step];
    }

    /** The keys one session reads: a user's chain in order, or (no structure) three random keys. */
    static String[] visit(Workload w, SplittableRandom rnd, int users) {
        String[] keys = new String[CHAIN.length];
        int user = rnd.nextInt(users);
        for (int i = 0; i < keys.length; i++) {
            keys[i] = w == Workload.RANDOM || w == Workload.RANDOM_ANONYMOUS
                    ? key(rnd.nextInt(users), rnd.nextInt(CHAIN.length)) : key(user, i);
        }
        return keys;
    }

    /** One workload's numbers, summed over its phases. */
    static final class Tally {
        long reads;
        long local;
        double seconds;
        final List<LatencyLog> latencies = new ArrayList<>();
        long reconcilePosts;
        final List<LatencyLog> localLatencies = new ArrayList<>();
        long prefetchedKeys;
        long hits;
        long decided;
        long followingReads;
        long skippedHealthy;

        double localShare() {
            return reads == 0 ? Double.NaN : (double) local / reads;
        }

        double per100(long n) {
            return reads == 0 ? Double.NaN : 100.0 * n / reads;
        }

        double precision() {
            return decided == 0 ? Double.NaN : (double) hits / decided;
        }

        double recall() {
            return followingReads == 0 ? Double.NaN : (double) hits / followingReads;
        }
    }

    // ---------------------------------------------------------------------------------------------

    private final Options o;
    private final Vertx vertx;
    private final BenchHttp http;
    private final BenchHttp writerHttp;
    private final ClosedLoop load;
    /** Per client, written only on its own context; read by the main thread between phases. */
    private final LatencyLog[] latency;
    private final LatencyLog[] localLatency;
    private final long[] reads;
    private final long[] local;
    private final AtomicLong sessionIds = new AtomicLong();
    private final AtomicLong writes = new AtomicLong();
    private final AtomicLong writeErrors = new AtomicLong();
    private final AtomicInteger writesInFlight = new AtomicInteger();
    private URI coordinator;

    private PredictBench(Options o) {
        this.o = o;
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(o.ioThreads()).setWorkerPoolSize(1)
                .setInternalBlockingPoolSize(1));
        this.http = new BenchHttp(vertx, o.clients());
        this.writerHttp = new BenchHttp(vertx, 8);
        this.load = new ClosedLoop(vertx, o.clients(), 0x9ED1C7);
        this.latency = new LatencyLog[o.clients()];
        this.localLatency = new LatencyLog[o.clients()];
        this.reads = new long[o.clients()];
        this.local = new long[o.clients()];
    }

    public static void main(String[] args) {
        PredictBench bench = new PredictBench(BenchArgs.parseOrExit("bench predict", USAGE, () -> parse(args)));
        BenchArgs.runAndExit("bench predict", bench.vertx, bench::run);
    }

    private int run() throws Exception {
        coordinator = MirrorCheck.ready(http, o.url(), o.coordinator());
        JsonNode prediction = status().path("prediction");
        if (!prediction.path("enabled").asBoolean(false)) {
            // Still worth running: every workload is then a baseline, which tells the header's cost from the workload's.
            System.out.println("note: the mirror at " + o.url() + " has prediction off (presage.mirror.prediction.enabled"
                    + (prediction.isMissingNode() ? ", or it predates the prediction engine" : "")
                    + "): it ignores the session header, so all four workloads run without prediction");
        }
        System.out.printf(Locale.ROOT, "predict bench: mirror %s (coordinator %s), %d clients, %d users × %d keys, reads with "
                        + "minConfidence=%s and %d ms between a session's reads, %,d blind writes/s at the coordinator; %d round(s) of "
                        + "four %d s phases%n", o.url(), coordinator, o.clients(), o.users(), CHAIN.length,
                ResultLine.decimal(o.minConfidence()), o.thinkMs(), o.writes(), o.rounds(), o.seconds());
        preload();
        long writer = o.writes() > 0 ? vertx.setPeriodic(10, id -> writeSome()) : -1;
        try {
            if (o.warmup() > 0) {
                System.out.printf("  warming up %d s on each workload (not measured)…%n", o.warmup());
                for (Workload w : Workload.values()) {
                    phase(w, o.warmup(), new Tally());
                }
            }
            Map<Workload, Tally> tallies = new LinkedHashMap<>();
            for (Workload w : Workload.values()) {
                tallies.put(w, new Tally());
            }
            System.out.printf("  measuring %d round(s)…%n", o.rounds());
            Workload[] all = Workload.values();
            for (int round = 1; round <= o.rounds(); round++) {
                for (int i = 0; i < all.length; i++) {
                    // Each round starts one workload later, so that none always runs first or last.
                    Workload w = all[(i + round - 1) % all.length];
                    Tally t = tallies.get(w);
                    phase(w, o.seconds(), t);
                    System.out.printf(Locale.ROOT, "    round %d, %-9s: %,d reads so far, %.1f %% local%n", round, w.id(), t.reads,
                            100 * t.localShare());
                }
            }
            JsonNode end = status();
            System.out.print(summary(tallies, end));
            System.out.println(ResultLine.of(resultFields(tallies, end)));
        } finally {
            vertx.cancelTimer(writer);
        }
        return 0;
    }

    /** Runs one workload for {@code seconds} and adds what it measured to {@code t}. */
    private void phase(Workload w, int seconds, Tally t) throws Exception {
        for (int i = 0; i < latency.length; i++) {
            latency[i] = new LatencyLog();
            localLatency[i] = new LatencyLog();
            reads[i] = 0;
            local[i] = 0;
        }
        JsonNode before = status();
        ClosedLoop.Result r = load.run(seconds, c -> session(c, w), null);
        JsonNode after = status();
        if (r.done() == 0) {
            throw new BenchArgs.Failure("no session completed (" + w.id() + "); first error: " + r.firstError());
        }
        for (int i = 0; i < latency.length; i++) {
            t.latencies.add(latency[i]);
            t.localLatencies.add(localLatency[i]);
            t.reads += reads[i];
            t.local += local[i];
        }
        t.seconds += r.seconds();
        t.reconcilePosts += delta(before, after, "reconcilePosts");
        JsonNode b = before.path("prediction");
        JsonNode a = after.path("prediction");
        t.prefetchedKeys += delta(b, a, "prefetchedKeys");
        t.hits += delta(b, a, "hits");
        t.decided += delta(b, a, "decidedKeys");
        t.followingReads += delta(b, a, "followingReads");
        t.skippedHealthy += delta(b, a, "skippedHealthy");
    }

    private static long delta(JsonNode before, JsonNode after, String field) {
        return after.path(field).asLong() - before.path(field).asLong();
    }

    /** One session: its keys read in order, {@code think} ms apart. */
    private Future<?> session(ClosedLoop.Client c, Workload w) {
        String[] keys = visit(w, c.rnd, o.users());
        String session = w == Workload.ANONYMOUS || w == Workload.RANDOM_ANONYMOUS ? null : "pb-" + sessionIds.incrementAndGet();
        Promise<Void> done = Promise.promise();
        readFrom(c, keys, 0, session, done);
        return done.future();
    }

    private void readFrom(ClosedLoop.Client c, String[] keys, int i, String session, Promise<Void> done) {
        long t0 = System.nanoTime();
        http.call(HttpMethod.GET, o.url(), "/v1/kv/" + keys[i] + "?minConfidence=" + o.minConfidence(), null,
                session == null ? null : SESSION_HEADER, session).onComplete(ar -> {
                    if (ar.failed() || ar.result().status() != 200) {
                        done.fail(ar.failed() ? ar.cause().toString()
                                : "GET /v1/kv/" + keys[i] + ": " + ar.result().status() + " " + ar.result().text());
                        return;
                    }
                    long took = System.nanoTime() - t0;
                    if (c.inWindow()) { // reads/s divides by the phase's length
                        latency[c.index].add(took);
                        reads[c.index]++;
                        if ("local".equals(JsonFields.topLevelString(ar.result().body().getBytes(), "source"))) {
                            local[c.index]++;
                            localLatency[c.index].add(took);
                        }
                    }
                    if (i + 1 == keys.length) {
                        done.complete();
                    } else if (o.thinkMs() == 0) {
                        readFrom(c, keys, i + 1, session, done);
                    } else {
                        vertx.setTimer(o.thinkMs(), id -> readFrom(c, keys, i + 1, session, done));
                    }
                });
    }

    /** Every 10 ms, a hundredth of the write rate, unless too many are still under way. */
    private void writeSome() {
        ThreadLocalRandom rnd = ThreadLocalRandom.current();
        int n = o.writes() / 100 + (rnd.nextInt(100) < o.writes() % 100 ? 1 : 0);
        for (int i = 0; i < n && writesInFlight.get() < 64; i++) {
            writesInFlight.incrementAndGet();
            String k = key(rnd.nextInt(o.users()), rnd.nextInt(CHAIN.length));
            writerHttp.call(HttpMethod.PUT, coordinator, "/v1/kv/" + k, Buffer.buffer(Long.toString(rnd.nextLong(1_000_000))))
                    .onComplete(ar -> {
                        writesInFlight.decrementAndGet();
                        if (ar.succeeded() && ar.result().status() == 200) {
                            writes.incrementAndGet();
                        } else {
                            writeErrors.incrementAndGet();
                        }
                    });
        }
    }

    private JsonNode status() throws Exception {
        Reply r = http.await(HttpMethod.GET, o.url(), "/v1/status");
        if (r.status() != 200) {
            throw new BenchArgs.Failure("GET /v1/status at " + o.url() + " answered " + r.status() + " " + r.text());
        }
        return JSON.readTree(r.string());
    }

    /** Every user's keys, written through the coordinator, then waited for at the mirror. */
    private void preload() throws Exception {
        StringBuilder sb = new StringBuilder("{\"writes\":[");
        int n = 0;
        String token = null;
        for (int u = 0; u < o.users(); u++) {
            for (int s = 0; s < CHAIN.length; s++) {
                sb.append(n == 0 ? "" : ",").append("{\"key\":\"").append(key(u, s)).append("\",\"value\":").append(u).append('}');
                if (++n == 300 || (u == o.users() - 1 && s == CHAIN.length - 1)) {
                    Reply r = http.await(HttpMethod.POST, coordinator, "/v1/transactions", sb.append("]}").toString());
                    token = r.status() == 200 ? JsonFields.topLevelString(r.string(), "token") : null;
                    if (token == null) {
                        throw new BenchArgs.Failure("preloading through " + coordinator + ": " + r.status() + " " + r.text());
                    }
                    sb.setLength(0);
                    sb.append("{\"writes\":[");
                    n = 0;
                }
            }
        }
        Reply caught = http.await(HttpMethod.GET, o.url(), "/v1/kv/" + key(0, 0) + "?consistency=causal&timeoutMs=60000&after="
                + java.net.URLEncoder.encode(token, java.nio.charset.StandardCharsets.UTF_8));
        if (caught.status() != 200) {
            throw new BenchArgs.Failure("the mirror did not apply the preloaded keys: " + caught.status() + " " + caught.text());
        }
    }

    static String summary(Map<Workload, Tally> tallies, JsonNode end) {
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT,
                "  %-10s %-36s %9s %8s %8s %8s %9s %13s %13s %9s %7s%n", "workload", "", "reads/s", "local", "p50 ms", "p99 ms",
                "local p50", "coord. req.", "prefetched", "precision", "recall"));
        sb.append(String.format(Locale.ROOT, "  %-10s %-36s %9s %8s %8s %8s %9s %13s %13s %9s %7s%n", "", "", "", "", "", "", "",
                "per 100 reads", "per 100 reads", "", ""));
        for (Map.Entry<Workload, Tally> e : tallies.entrySet()) {
            Tally t = e.getValue();
            long[] l = LatencyLog.sortedUnion(t.latencies);
            long[] ll = LatencyLog.sortedUnion(t.localLatencies);
            sb.append(String.format(Locale.ROOT, "  %-10s %-36s %,9.0f %7.1f%% %8s %8s %9s %13s %13s %9s %7s%n", e.getKey().id(),
                    e.getKey().what, t.reads / Math.max(1e-9, t.seconds), 100 * t.localShare(),
                    ResultLine.opt(LatencyLog.percentileMillis(l, 0.5), "%.2f"), ResultLine.opt(LatencyLog.percentileMillis(l, 0.99), "%.2f"),
                    ResultLine.opt(ll.length == 0 ? Double.NaN : LatencyLog.percentileMillis(ll, 0.5), "%.2f"),
                    ResultLine.opt(t.per100(t.reconcilePosts), "%.1f"), ResultLine.opt(t.per100(t.prefetchedKeys), "%.1f"),
                    ResultLine.opt(t.precision(), "%.2f"), ResultLine.opt(t.recall(), "%.2f")));
        }
        JsonNode p = end.path("prediction");
        sb.append(String.format(Locale.ROOT, "  the mirror now: staleness %s ms, reconcile round trip %s ms, mean pause between a "
                        + "session's reads %s ms; predictions left alone because a prefetch could not beat the log: %,d%n",
                ResultLine.opt(end.path("stalenessSeconds").asDouble(Double.NaN) * 1000, "%.1f"),
                ResultLine.opt(p.path("reconcileRttMillis").asDouble(Double.NaN), "%.2f"),
                ResultLine.opt(p.path("sessionGapMillis").asDouble(Double.NaN), "%.1f"),
                tallies.values().stream().mapToLong(t -> t.skippedHealthy).sum()));
        return sb.toString();
    }

    Map<String, Object> resultFields(Map<Workload, Tally> tallies, JsonNode end) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bench", "predict");
        m.put("url", o.url().toString());
        m.put("seconds", o.seconds());
        m.put("rounds", o.rounds());
        m.put("clients", o.clients());
        m.put("users", o.users());
        m.put("writes_per_s", o.writes());
        m.put("writes_done", writes.get());
        m.put("write_errors", writeErrors.get());
        m.put("min_confidence", o.minConfidence());
        m.put("think_ms", o.thinkMs());
        for (Map.Entry<Workload, Tally> e : tallies.entrySet()) {
            Tally t = e.getValue();
            long[] l = LatencyLog.sortedUnion(t.latencies);
            String w = e.getKey().id();
            w = w.replace('-', '_');
            m.put(w + "_reads", t.reads);
            m.put(w + "_local_share", t.localShare());
            m.put(w + "_p50_ms", LatencyLog.percentileMillis(l, 0.5));
            m.put(w + "_p99_ms", LatencyLog.percentileMillis(l, 0.99));
            m.put(w + "_coordinator_requests_per_100_reads", t.per100(t.reconcilePosts));
            m.put(w + "_prefetched_per_100_reads", t.per100(t.prefetchedKeys));
            m.put(w + "_precision", t.precision());
            m.put(w + "_recall", t.recall());
        }
        m.put("reconcile_rtt_ms", end.path("prediction").path("reconcileRttMillis").asDouble(Double.NaN));
        m.put("session_gap_ms", end.path("prediction").path("sessionGapMillis").asDouble(Double.NaN));
        return m;
    }
}
