package io.presage.bench;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.Nats;
import io.presage.bench.BenchHttp.Reply;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;

/**
 * {@code ./presage bench commit}: end-to-end commit throughput and latency of the running cluster over
 * HTTP, next to the ceilings it should be compared with, all measured in one run against the same
 * servers: the HTTP ceiling of a trivial endpoint of the same application with the same client
 * machinery, and raw JetStream publish throughput (synchronous and asynchronous) on the same NATS.
 *
 * <p>The HTTP load is closed-loop: {@code clients} independent loops over a pool of as many keep-alive
 * connections (no pipelining), each with one request in flight, driven by Vert.x's event-loop HTTP
 * client so that one process on two cores can keep the server busy ({@link CommitClient}). A transaction
 * ({@link CommitWorkload}) reads two random
 * keys of a large key space ({@code GET /v1/kv/{key}}, version and value), then commits a
 * read-modify-write of both ({@code POST /v1/transactions} with the versions read and each value plus
 * one). Commit latency is the POST's, of committed transactions; transaction latency also includes the
 * two reads.
 *
 * <p>Phases: warm-up (not measured; by default until the coordinator is warm on this workload's path, see
 * {@link #warmEnough}), commit and ping ({@code GET /v1/ping}) for {@code seconds} each, then
 * JetStream sync publish (one at a time, each waiting for its ack) and async publish (up to
 * {@code --js-window} acks outstanding) for {@code min(seconds, 5)} each ({@link RawJetStream}). The coordinator's
 * {@code /q/metrics} is read around the commit phase for group-commit batching, publish latency, GC
 * and heap. With mirrors (given with {@code --mirror URL}, else the ones found running on the ports after
 * the coordinator's, see {@link MirrorDiscovery}; {@code --no-mirrors} skips them), a sample of commits is
 * read at the mirrors with {@code ?consistency=causal&after=TOKEN} (the commit's token): commit ack to the
 * mirror's answer is the replication lag, {@code lag_p50_ms} / {@code lag_p99_ms} in the result (the answer's
 * own round trip included; samples beyond the probes in flight are skipped and counted, see {@link LagProbes}).
 *
 * <p>Last line: {@code RESULT {json}} ({@link CommitReport}).
 */
public final class CommitBench {

    static final String USAGE = "usage: ./presage bench commit [--seconds S (10)] [--clients C (32)] [--keys K (100000)]\n"
            + "         [--warmup auto|S (auto)] [--url URL (http://127.0.0.1:8080)] [--nats URL (nats://127.0.0.1:$PRESAGE_NATS_PORT or 14222)]\n"
            + "         [--mirror URL]... | [--no-mirrors] [--reads get|batch|none|procedure (get)] [--rate TPS (0: as fast as possible)] [--ids]\n"
            + "         [--io-threads N (1)] [--js-window N (1024)]";

    private static final long REQUEST_IDLE_TIMEOUT_MS = BenchHttp.REQUEST_IDLE_TIMEOUT_MS;
    /**
     * Tells this run's ids (--ids) from every earlier run's: the coordinator remembers ids, and a
     * repeated one is answered with its first outcome instead of being committed.
     */
    static final String RUN_ID = Long.toString(System.currentTimeMillis(), 36)
            + Long.toString(new SplittableRandom().nextLong() >>> 40, 36);

    record Options(URI url, String nats, int seconds, int clients, int keys, int warmup, int ioThreads,
                   int jsWindow, Reads reads, List<URI> mirrors, boolean findMirrors, double rate, boolean ids) {
        /** The same options with the mirrors found running. */
        Options withMirrors(List<URI> found) {
            return new Options(url, nats, seconds, clients, keys, warmup, ioThreads, jsWindow, reads, List.copyOf(found),
                    false, rate, ids);
        }
    }

    /**
     * How a transaction learns the versions it reads. {@code get} (the workload proper): two
     * {@code GET /v1/kv/{key}}. {@code batch}: one {@code POST /v1/kv/_batch} for both. {@code none}:
     * no reads, two blind writes, so that every request of the phase is a commit (isolates the commit
     * path from the read path). {@code procedure}: the read-modify-write runs at the coordinator, as
     * {@code POST /v1/procedures/transfer} of 1 between the two keys (preloaded with a large balance each
     * run), one request per transaction.
     */
    enum Reads {
        GET(3), BATCH(2), NONE(1), PROCEDURE(1);

        /** HTTP requests per transaction. */
        final int requests;

        Reads(int requests) {
            this.requests = requests;
        }

        static Reads parse(String v) {
            try {
                return valueOf(v.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--reads must be get, batch, none or procedure, not '" + v + "'");
            }
        }

        String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Options

    static Options parse(String[] args, Map<String, String> env) {
        String natsPort = env.getOrDefault("PRESAGE_NATS_PORT", "14222");
        URI url = URI.create("http://127.0.0.1:8080");
        String nats = "nats://127.0.0.1:" + natsPort;
        int seconds = 10;
        int clients = 32;
        int keys = 100_000;
        int warmup = AUTO_WARMUP;
        int ioThreads = 1;
        int jsWindow = 1024;
        Reads reads = Reads.GET;
        List<URI> mirrors = new ArrayList<>();
        boolean noMirrors = false;
        boolean ids = false;
        double rate = 0;
        for (Map.Entry<String, String> p : BenchArgs.pairs(args, java.util.Set.of("--no-mirrors", "--ids"))) {
            String a = p.getKey();
            String v = p.getValue();
            if (a.equals("--no-mirrors")) {
                noMirrors = true;
                continue;
            }
            if (a.equals("--ids")) {
                ids = true;
                continue;
            }
            switch (a) {
                case "--url" -> url = BenchArgs.httpUrl(v, "--url");
                case "--nats" -> nats = v;
                case "--seconds" -> seconds = BenchArgs.positive(a, v);
                case "--clients" -> clients = BenchArgs.positive(a, v);
                case "--keys" -> keys = BenchArgs.positive(a, v);
                case "--warmup" -> warmup = warmup(v);
                case "--io-threads" -> ioThreads = BenchArgs.positive(a, v);
                case "--js-window" -> jsWindow = BenchArgs.positive(a, v);
                case "--reads" -> reads = Reads.parse(v);
                case "--mirror" -> mirrors.add(BenchArgs.httpUrl(v, "--mirror"));
                case "--rate" -> rate = BenchArgs.positive(a, v);
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        if (keys < 2) {
            throw new IllegalArgumentException("--keys must be at least 2 (a transaction touches two keys)");
        }
        if (!nats.startsWith("nats://")) {
            throw new IllegalArgumentException("--nats must be a nats:// URL, not '" + nats + "'");
        }
        return new Options(url, nats, seconds, clients, keys, warmup, ioThreads, jsWindow, reads,
                noMirrors ? List.of() : List.copyOf(mirrors), !noMirrors && mirrors.isEmpty(), rate, ids);
    }

    private static int warmup(String v) {
        if ("auto".equals(v)) {
            return AUTO_WARMUP;
        }
        try {
            return BenchArgs.nonNegative("--warmup", v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--warmup must be auto or a whole number of seconds (0: none), not '" + v + "'");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Running it

    private final Options o;
    private final Vertx vertx;
    private final BenchHttp http;
    private final List<CommitClient> clients = new ArrayList<>();
    private final LagProbes lag;
    private final AtomicReference<String> firstError = new AtomicReference<>();

    private CommitBench(Options o) {
        this.o = o;
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(o.ioThreads).setWorkerPoolSize(1)
                .setInternalBlockingPoolSize(1));
        this.http = new BenchHttp(vertx, o.clients);
        this.lag = new LagProbes(vertx, o.mirrors, TimeUnit.MILLISECONDS.toNanos(5));
        for (int i = 0; i < o.clients; i++) {
            // From a non-Vert.x thread each call makes a new context, round-robin over the event loops.
            clients.add(new CommitClient(o, vertx, http, lag, this::error, vertx.getOrCreateContext(), 0x5EED + i));
        }
    }

    private void error(String message) {
        firstError.compareAndSet(null, message);
    }

    public static void main(String[] args) {
        Options parsed = BenchArgs.parseOrExit("bench commit", USAGE, () -> parse(args, System.getenv()));
        Options o = parsed.findMirrors() ? parsed.withMirrors(MirrorDiscovery.find(parsed.url())) : parsed;
        CommitBench bench = new CommitBench(o);
        BenchArgs.runAndExit("bench commit", bench.vertx, bench::run);
    }

    private int run() throws Exception {
        CommitReport r = new CommitReport();
        r.mirrors = !o.mirrors.isEmpty();
        System.out.printf(Locale.ROOT, "commit bench: %s, %d clients (one connection and one request in flight each), "
                        + "%,d keys, reads: %s%s, %d s per phase, NATS %s%s%n",
                o.url, o.clients, o.keys, o.reads.label(), o.ids ? ", every commit under a fresh idempotency id" : "",
                o.seconds, o.nats,
                o.mirrors.isEmpty() ? "" : ", lag at mirrors " + o.mirrors);
        if (!checkCoordinator()) {
            return 1;
        }
        Connection nats;
        try {
            nats = Nats.connect(new io.nats.client.Options.Builder().server(o.nats)
                    .connectionTimeout(Duration.ofSeconds(3)).noReconnect()
                    .errorListener(new io.nats.client.ErrorListener() { }) // failures are reported below, once
                    .build());
        } catch (IOException | RuntimeException e) {
            System.err.printf("presage bench commit: error: cannot reach NATS at %s (%s): run ./presage up first, "
                    + "or give --nats (or set PRESAGE_NATS_PORT)%n", o.nats, e.getMessage());
            return 1;
        }
        try {
            // The machine while nothing of ours runs: other work here competes with the servers and the client.
            CpuClock idle = CpuClock.now();
            Thread.sleep(1_000);
            r.machineCpuIdle = idle.machineCores();
            if (r.machineCpuIdle > 0.25) {
                System.out.printf(Locale.ROOT, "  warning: other work keeps %.2f of %d cores busy before the bench starts; "
                        + "it competes with the servers and the client%n", r.machineCpuIdle, Runtime.getRuntime().availableProcessors());
            }
            if (o.reads == Reads.PROCEDURE) {
                preloadAccounts();
            }
            if (!warmUp(r)) {
                return 1;
            }
            firstError.set(null);
            PrometheusText before = scrape();
            if (before != null) {
                r.coordinatorUptimeS = before.sum("process_uptime_seconds").orElse(Double.NaN);
                r.coordinatorCommittedBefore = committedSinceStart(before);
            }
            String cold = coldCoordinatorNote(r.coordinatorCommittedBefore);
            if (cold != null) {
                System.out.println(cold);
            }
            Phase commit = runPhase(new CommitClient.Run("commit", o.seconds, o.clients, r.mirrors), CommitClient.Work.COMMIT, true);
            PrometheusText after = scrape();
            if (r.mirrors) {
                lag.awaitProbes();
            }
            commitResults(r, commit, before, after);
            CommitReport.printCommit(r, o.reads);

            if (o.warmup != 0) {
                runPhase(new CommitClient.Run("ping warm-up", 1, o.clients, false), CommitClient.Work.PING, false);
            }
            PrometheusText beforePing = scrape();
            Phase ping = runPhase(new CommitClient.Run("ping", o.seconds, o.clients, false), CommitClient.Work.PING, true);
            PrometheusText afterPing = scrape();
            if (beforePing != null && afterPing != null) {
                r.coordinatorCpuUsPerPing = CommitReport.cpuUsPerOp(beforePing, afterPing, ping.ops());
            }
            long[] pl = ping.latencies();
            r.pingRps = ping.ops() / ping.seconds();
            r.pingP50 = LatencyLog.percentileMillis(pl, 0.50);
            r.pingP99 = LatencyLog.percentileMillis(pl, 0.99);
            r.clientCpuPing = ping.clientCpu();
            r.machineCpuPing = ping.machineCpu();
            System.out.printf(Locale.ROOT, "  ping (HTTP ceiling, GET /v1/ping): %,.0f req/s, latency p50 %.2f ms p99 %.2f ms, "
                            + "%d errors; CPU: client %.2f cores, machine %s%n",
                    r.pingRps, r.pingP50, r.pingP99, ping.errors(), r.clientCpuPing, CommitReport.cores(r.machineCpuPing));
            // The ratio targets in one line of cost: the 0.5 × target needs a commit to cost at most two pings.
            System.out.printf(Locale.ROOT, "  CPU per operation: whole machine %s µs per commit, %s µs per ping (%s ×); "
                            + "coordinator %s µs per commit, %s µs per ping (%s ×)%n",
                    ResultLine.opt(r.machineCpuUsPerCommit(), "%.0f"), ResultLine.opt(r.machineCpuUsPerPing(), "%.0f"),
                    ResultLine.opt(r.machineCpuUsPerCommit() / r.machineCpuUsPerPing(), "%.1f"),
                    ResultLine.opt(r.coordinatorCpuUsPerCommit, "%.0f"), ResultLine.opt(r.coordinatorCpuUsPerPing, "%.0f"),
                    ResultLine.opt(r.coordinatorCpuUsPerCommit / r.coordinatorCpuUsPerPing, "%.1f"));

            new RawJetStream(o.seconds, o.jsWindow, this::error).measure(nats, r);
        } finally {
            nats.close();
        }

        System.out.printf(Locale.ROOT, "  against the targets: commit %,.0f txn/s = %.2f × the HTTP ceiling (target ≥ 0.5), "
                        + "%.2f × raw JetStream sync publish (target ≥ 3); commit p99 %.2f ms (target < 25)%n",
                r.commitTps, r.commitTps / r.pingRps, r.commitTps / r.syncTps, r.commitP99);
        if (o.reads.requests > 1) {
            System.out.printf(Locale.ROOT, "  (each transaction here is %d HTTP requests and the ceiling counts requests: "
                    + "at most %.2f × even if every request cost a ping; --reads none or procedure is one request)%n",
                    o.reads.requests, 1.0 / o.reads.requests);
        }
        if (firstError.get() != null) {
            System.out.println("  first error: " + firstError.get());
        }
        System.out.println(ResultLine.of(CommitReport.resultFields(o, r)));
        if (!(r.commitTps > 0)) {
            System.err.println("presage bench commit: error: no transaction committed in the measured phase (see above): "
                    + "its figures measure nothing");
            return 1;
        }
        return 0;
    }

    /** The coordinator answers, is a coordinator, and is ready (waits up to a minute for recovery). */
    private boolean checkCoordinator() throws InterruptedException {
        try {
            Reply ping = http.await(HttpMethod.GET, o.url, "/v1/ping");
            if (ping.status() != 200) {
                System.err.printf("presage bench commit: error: %s/v1/ping answered %d: is this a Presage node?%n",
                        o.url, ping.status());
                return false;
            }
        } catch (Exception e) {
            Throwable c = e.getCause() == null ? e : e.getCause();
            System.err.printf("presage bench commit: error: cannot reach the coordinator at %s (%s): run ./presage up first, "
                    + "or give --url%n", o.url, c.getMessage() == null ? c.toString() : c.getMessage());
            return false;
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        boolean said = false;
        while (true) {
            String state;
            String role;
            try {
                Reply s = http.await(HttpMethod.GET, o.url, "/v1/status");
                String body = s.body().toString(StandardCharsets.UTF_8);
                role = JsonFields.topLevelString(body, "role");
                state = JsonFields.topLevelString(body, "state");
            } catch (Exception e) {
                role = "?";
                state = "unreachable (" + e + ")";
            }
            if (!"coordinator".equals(role) && !"?".equals(role)) {
                System.err.printf("presage bench commit: error: %s is a %s, not the coordinator: give the coordinator's --url%n",
                        o.url, role);
                return false;
            }
            if ("READY".equals(state)) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                System.err.printf("presage bench commit: error: the coordinator at %s is still %s after 60 s%n", o.url, state);
                return false;
            }
            if (!said) {
                System.out.printf("  waiting for the coordinator to be ready (it is %s)…%n", state);
                said = true;
            }
            Thread.sleep(500);
        }
    }

    /** {@code --warmup auto}: warm up until this workload's path is compiled (see {@link #warmEnough}). */
    static final int AUTO_WARMUP = -1;
    /**
     * Transactions of one workload a coordinator commits before its JIT compiler has caught up with
     * that workload's path. Measured on this project's 2-core machine: a fresh coordinator under the
     * default workload (2026-11-26, 1 s steps) climbed from 108 to ~4,000 txn/s over its first ~35 s
     * (100,000 commits) and stayed there; a coordinator warmed by 150,000 plain transactions, then given
     * {@code transfer} procedures (2026-11-29, 128 clients), climbed from 1.6-9k to its plateau of
     * 12-16k txn/s over another ~125,000, since the procedure path is code the plain one never ran.
     * Counted in work, not seconds, because the JIT compiles what has run often, not what has been up
     * long; and counted in this run's own commits, because the coordinator's total cannot tell which
     * path its earlier commits took.
     */
    static final long WARM_COMMITS = 150_000;
    /** The auto warm-up's first step: connections open and the client's own code warms. */
    static final int WARMUP_MIN_SECONDS = 3;
    /** The auto warm-up's later steps, after each of which the count is looked at again. */
    static final int WARMUP_STEP_SECONDS = 5;
    /** The auto warm-up stops here even if the coordinator is slower than that (a loaded machine). */
    static final int WARMUP_MAX_SECONDS = 120;

    /**
     * Whether the auto warm-up may stop, after {@code warmedSeconds} of it in which this run's workload
     * committed {@code committedInWarmUp}: once that is {@link #WARM_COMMITS}, never before
     * {@link #WARMUP_MIN_SECONDS}, always at {@link #WARMUP_MAX_SECONDS}.
     */
    static boolean warmEnough(long committedInWarmUp, int warmedSeconds) {
        if (warmedSeconds < WARMUP_MIN_SECONDS) {
            return false;
        }
        return committedInWarmUp >= WARM_COMMITS || warmedSeconds >= WARMUP_MAX_SECONDS;
    }

    /** The transactions the coordinator has committed since it started, from its metrics (NaN if absent). */
    static double committedSinceStart(PrometheusText metrics) {
        return metrics == null ? Double.NaN
                : metrics.get("presage_commits_total", "outcome", "committed").orElse(Double.NaN);
    }

    /** Runs the warm-up; false (after saying why) if not one transaction committed in a step of it. */
    private boolean warmUp(CommitReport r) throws InterruptedException {
        if (o.warmup == 0) {
            return true;
        }
        if (o.warmup > 0) {
            System.out.printf("  warming up %d s (not measured)…%n", o.warmup);
            r.warmupSeconds = o.warmup;
            Phase w = warmUpStep(o.warmup);
            r.warmupCommitted = w == null ? 0 : w.committed();
            return w != null;
        }
        System.out.printf(Locale.ROOT, "  warming up (not measured) until this workload has committed %,d transactions, so that "
                + "the coordinator's JIT compiler has caught up with its path; %d to %d s…%n", WARM_COMMITS, WARMUP_MIN_SECONDS,
                WARMUP_MAX_SECONDS);
        int warmed = 0;
        long committed = 0;
        while (!warmEnough(committed, warmed)) {
            int step = warmed == 0 ? WARMUP_MIN_SECONDS : Math.min(WARMUP_STEP_SECONDS, WARMUP_MAX_SECONDS - warmed);
            Phase w = warmUpStep(step);
            if (w == null) {
                return false;
            }
            warmed += step;
            committed += w.committed();
            if (committed < WARM_COMMITS) {
                System.out.printf(Locale.ROOT, "    warm-up %3d s: %,d committed%n", warmed, committed);
            }
        }
        r.warmupSeconds = warmed;
        r.warmupCommitted = committed;
        return true;
    }

    /** One step of the warm-up; null (after saying why) if nothing committed and something failed. */
    private Phase warmUpStep(int seconds) throws InterruptedException {
        Phase w = runPhase(new CommitClient.Run("warm-up", seconds, o.clients, false), CommitClient.Work.COMMIT, false);
        if (w.committed() == 0 && w.unavailable() + w.errors() > 0) {
            System.err.println("presage bench commit: error: no transaction committed during the warm-up; first error: "
                    + firstError.get());
            return null;
        }
        return w;
    }

    /**
     * A note when the measured phase starts on a coordinator that has not yet committed
     * {@link #WARM_COMMITS} (a short {@code --warmup}, or the auto warm-up's time ran out): its JIT
     * compiler is likely still at work, so throughput is low and noisy. Null when warm or unknown.
     */
    static String coldCoordinatorNote(double committedSinceStart) {
        if (Double.isNaN(committedSinceStart) || committedSinceStart >= WARM_COMMITS) {
            return null;
        }
        return String.format(Locale.ROOT, "  note: the coordinator has committed only %,.0f transactions since it started; until "
                + "its JIT compiler has caught up (about %,d on 2 cores) throughput is low and noisy: run the bench again, "
                + "or leave --warmup at auto", committedSinceStart, WARM_COMMITS);
    }

    private PrometheusText scrape() {
        try {
            Reply m = http.await(HttpMethod.GET, o.url, "/q/metrics");
            return m.status() == 200 ? PrometheusText.parse(m.body().toString(StandardCharsets.UTF_8)) : null;
        } catch (Exception e) {
            return null;
        }
    }

    /** What the clients did in one run, added up. */
    record Phase(List<LatencyLog> logs, List<LatencyLog> txnLogs, long ops, long committed, long aborted,
                 long unavailable, long errors, double seconds, double clientCpu, double machineCpu) {
        long[] latencies() {
            return LatencyLog.sortedUnion(logs);
        }
    }

    private Phase runPhase(CommitClient.Run run, CommitClient.Work work, boolean progress) throws InterruptedException {
        for (CommitClient c : clients) {
            c.reset();
        }
        CpuClock cpu = CpuClock.now();
        CommitClient.Run started = run;
        for (CommitClient c : clients) {
            c.start(started, work);
        }
        long lastOps = 0;
        long tick = run.start;
        while (true) {
            tick += TimeUnit.SECONDS.toNanos(1);
            long sleep = Math.min(tick, run.end) - System.nanoTime();
            if (sleep > 0) {
                TimeUnit.NANOSECONDS.sleep(sleep);
            }
            if (System.nanoTime() >= run.end) {
                break;
            }
            if (progress) {
                long ops = 0;
                long aborted = 0;
                long failed = 0;
                for (CommitClient c : clients) {
                    ops += work == CommitClient.Work.COMMIT ? c.committed : c.ops;
                    aborted += c.aborted;
                    failed += c.unavailable + c.errors;
                }
                System.out.printf(Locale.ROOT, "    %s %2d/%d s: %,8d %s/s%s%n", run.name,
                        TimeUnit.NANOSECONDS.toSeconds(tick - run.start), TimeUnit.NANOSECONDS.toSeconds(run.end - run.start),
                        ops - lastOps, work == CommitClient.Work.COMMIT ? "txn" : "req",
                        work == CommitClient.Work.COMMIT ? String.format(Locale.ROOT, " (%,d aborted, %,d failed so far)", aborted, failed) : "");
                lastOps = ops;
            }
        }
        double clientCpu = cpu.processCores();
        double machineCpu = cpu.machineCores();
        if (!run.done.await(REQUEST_IDLE_TIMEOUT_MS + 5_000, TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException(run.name + ": requests still outstanding "
                    + (REQUEST_IDLE_TIMEOUT_MS / 1000 + 5) + " s after the end");
        }
        List<LatencyLog> logs = new ArrayList<>();
        List<LatencyLog> txnLogs = new ArrayList<>();
        long ops = 0;
        long committed = 0;
        long aborted = 0;
        long unavailable = 0;
        long errors = 0;
        for (CommitClient c : clients) {
            logs.add(c.latency);
            txnLogs.add(c.txnLatency);
            ops += c.ops;
            committed += c.committed;
            aborted += c.aborted;
            unavailable += c.unavailable;
            errors += c.errors;
        }
        double seconds = (run.end - run.start) / 1e9;
        return new Phase(logs, txnLogs, ops, committed, aborted, unavailable, errors, seconds, clientCpu, machineCpu);
    }

    private void commitResults(CommitReport r, Phase p, PrometheusText before, PrometheusText after) {
        long[] lat = p.latencies();
        long[] txn = LatencyLog.sortedUnion(p.txnLogs());
        r.committed = p.committed();
        r.aborted = p.aborted();
        r.unavailable = p.unavailable();
        r.errors = p.errors();
        r.commitSeconds = p.seconds();
        r.commitTps = p.committed() / p.seconds();
        r.commitP50 = LatencyLog.percentileMillis(lat, 0.50);
        r.commitP90 = LatencyLog.percentileMillis(lat, 0.90);
        r.commitP99 = LatencyLog.percentileMillis(lat, 0.99);
        r.commitMax = LatencyLog.percentileMillis(lat, 1.0);
        r.txnP50 = LatencyLog.percentileMillis(txn, 0.50);
        r.txnP99 = LatencyLog.percentileMillis(txn, 0.99);
        // Failed reads aside, every transaction attempt makes the same requests.
        r.commitPhaseHttpRps = (double) o.reads.requests * (p.committed() + p.aborted() + p.unavailable()) / p.seconds();
        r.clientCpuCommit = p.clientCpu();
        r.machineCpuCommit = p.machineCpu();
        r.coordinatorMetrics(before, after, p.seconds(), p.committed());
        if (r.mirrors) {
            long[] lags = lag.sorted();
            r.lagSamples = lags.length;
            r.lagTimeouts = lag.timeouts();
            r.lagSkipped = lag.skipped();
            r.lagP50 = lags.length == 0 ? Double.NaN : LatencyLog.percentileMillis(lags, 0.50);
            r.lagP99 = lags.length == 0 ? Double.NaN : LatencyLog.percentileMillis(lags, 0.99);
        }
    }

    /** Every key gets a balance no run of transfers of 1 can exhaust, in transactions of 500 writes, 4 at a time. */
    private void preloadAccounts() throws Exception {
        long t0 = System.nanoTime();
        List<Future<BenchHttp.Reply>> pending = new ArrayList<>();
        for (int from = 0; from < o.keys; from += CommitWorkload.PRELOAD_WRITES) {
            int to = Math.min(o.keys, from + CommitWorkload.PRELOAD_WRITES);
            pending.add(http.call(HttpMethod.POST, o.url, "/v1/transactions", Buffer.buffer(CommitWorkload.accountsBody(from, to))));
            if (pending.size() == 4 || to == o.keys) {
                for (Future<BenchHttp.Reply> f : pending) {
                    BenchHttp.Reply rep = f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
                    if (rep.status() != 200) {
                        throw new BenchArgs.Failure("preloading the accounts: POST /v1/transactions answered " + rep.status() + " "
                                + rep.text());
                    }
                }
                pending.clear();
            }
        }
        System.out.printf(Locale.ROOT, "  gave each of the %,d keys a balance of %,d in %.1f s%n", o.keys, CommitWorkload.PRELOAD_BALANCE,
                (System.nanoTime() - t0) / 1e9);
    }
}
