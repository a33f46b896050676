package io.presage.bench;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.bench.BenchHttp.Reply;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;

/**
 * {@code ./presage bench read}: local reads at a mirror, next to the same mirror's HTTP ceiling, in one
 * run with the same client machinery ({@link BenchHttp}, {@link ClosedLoop}: C keep-alive connections,
 * one request in flight on each).
 *
 * <p>Steps: K keys are written through the coordinator (transactions of up to 500 writes), then one
 * marker key; the mirror is asked for the marker with {@code consistency=causal&after=<its token>}, so
 * every key is applied there before anything is measured (the time that takes is reported). Then
 * {@code GET /v1/kv/{random key}} (predictive, the default) for {@code seconds} after a warm-up, then
 * {@code GET /v1/ping} at the same mirror for as long. Reads answered from the primary instead of locally
 * are counted apart ({@code local_share}). Last line: {@code RESULT {json}}, {@code "bench":"read"}.
 */
public final class ReadBench {

    static final String USAGE = "usage: ./presage bench read [--url URL (http://127.0.0.1:8081, a mirror)] [--seconds S (10)]\n"
            + "         [--clients C (32)] [--keys K (10000)] [--warmup S (3)] [--coordinator URL (the mirror's, from /v1/status)]\n"
            + "         [--io-threads N (1)]";
    static final String MARKER = "read-bench-loaded";
    static final int WRITES_PER_TXN = 500;
    private static final ObjectMapper JSON = new ObjectMapper();

    record Options(URI url, URI coordinator, int seconds, int clients, int keys, int warmup, int ioThreads) {
    }

    static Options parse(String[] args) {
        URI url = URI.create("http://127.0.0.1:8081");
        URI coordinator = null;
        int seconds = 10;
        int clients = 32;
        int keys = 10_000;
        int warmup = 3;
        int ioThreads = 1;
        for (Map.Entry<String, String> p : BenchArgs.pairs(args, java.util.Set.of())) {
            String a = p.getKey();
            String v = p.getValue();
            switch (a) {
                case "--url" -> url = BenchArgs.httpUrl(v, a);
                case "--coordinator" -> coordinator = BenchArgs.httpUrl(v, a);
                case "--seconds" -> seconds = BenchArgs.positive(a, v);
                case "--clients" -> clients = BenchArgs.positive(a, v);
                case "--keys" -> keys = BenchArgs.positive(a, v);
                case "--warmup" -> warmup = BenchArgs.nonNegative(a, v);
                case "--io-threads" -> ioThreads = BenchArgs.positive(a, v);
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        return new Options(url, coordinator, seconds, clients, keys, warmup, ioThreads);
    }

    static String key(int i) {
        return "read-k" + i;
    }

    /** A write set of keys {@code from} (inclusive) to {@code to} (exclusive), each holding a small object. */
    static String preloadBody(int from, int to) {
        StringBuilder sb = new StringBuilder("{\"reads\":[],\"writes\":[");
        for (int i = from; i < to; i++) {
            sb.append(i == from ? "" : ",").append("{\"key\":\"").append(key(i)).append("\",\"value\":{\"n\":").append(i)
                    .append(",\"name\":\"item ").append(i).append("\",\"tags\":[\"bench\",\"read\"]}}");
        }
        return sb.append("]}").toString();
    }

    /** Everything measured; NaN when not measured. */
    static final class Report {
        long reads;
        long readErrors;
        long fromPrimary;
        double readSeconds;
        double readRps;
        double readP50 = Double.NaN;
        double readP99 = Double.NaN;
        double readMax = Double.NaN;
        double pingRps;
        double pingP50 = Double.NaN;
        double pingP99 = Double.NaN;
        long pingErrors;
        double preloadSeconds = Double.NaN;
        double catchUpMs = Double.NaN;
        double clientCpuRead = Double.NaN;
        double machineCpuRead = Double.NaN;
        double machineCpuPing = Double.NaN;

        double vsCeiling() {
            return pingRps > 0 ? readRps / pingRps : Double.NaN;
        }

        double localShare() {
            return reads == 0 ? Double.NaN : Math.max(0, (double) (reads - fromPrimary) / reads); // an op straddling the end: within a read
        }
    }

    static Map<String, Object> resultFields(Options o, Report r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bench", "read");
        m.put("url", o.url().toString());
        m.put("seconds", o.seconds());
        m.put("clients", o.clients());
        m.put("keys", o.keys());
        m.put("read_rps", Math.round(r.readRps));
        m.put("read_p50_ms", r.readP50);
        m.put("read_p99_ms", r.readP99);
        m.put("read_max_ms", r.readMax);
        m.put("reads", r.reads);
        m.put("read_errors", r.readErrors);
        m.put("local_share", r.localShare());
        m.put("http_ceiling_rps", Math.round(r.pingRps));
        m.put("ping_p50_ms", r.pingP50);
        m.put("ping_p99_ms", r.pingP99);
        m.put("read_vs_http_ceiling", r.vsCeiling());
        m.put("preload_seconds", r.preloadSeconds);
        m.put("catch_up_ms", r.catchUpMs);
        m.put("client_cpu_cores_read", r.clientCpuRead);
        m.put("machine_cpu_cores_read", r.machineCpuRead);
        m.put("machine_cpu_cores_ping", r.machineCpuPing);
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        return m;
    }

    /** The human summary: the numbers, then against the targets of issue 6. */
    static String summary(Report r) {
        return String.format(Locale.ROOT, "  reads (GET /v1/kv/{key}, predictive): %,.0f req/s, latency p50 %s ms, p99 %s ms, max %s ms; "
                        + "%,d reads, %.1f %% answered locally, %,d errors%n"
                        + "  ping (HTTP ceiling of the same mirror, GET /v1/ping): %,.0f req/s, latency p50 %s ms, p99 %s ms%n"
                        + "  against the targets: read p99 %s ms (target < 2), reads = %s × the HTTP ceiling (target ≥ 0.5)%n",
                r.readRps, ResultLine.opt(r.readP50, "%.2f"), ResultLine.opt(r.readP99, "%.2f"), ResultLine.opt(r.readMax, "%.2f"),
                r.reads, 100 * (Double.isNaN(r.localShare()) ? 0 : r.localShare()), r.readErrors,
                r.pingRps, ResultLine.opt(r.pingP50, "%.2f"), ResultLine.opt(r.pingP99, "%.2f"),
                ResultLine.opt(r.readP99, "%.2f"), ResultLine.opt(r.vsCeiling(), "%.2f"));
    }

    // ---------------------------------------------------------------------------------------------

    private final Options o;
    private final Vertx vertx;
    private final BenchHttp http;
    private final ClosedLoop load;
    private URI coordinator;

    private ReadBench(Options o) {
        this.o = o;
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(o.ioThreads()).setWorkerPoolSize(1)
                .setInternalBlockingPoolSize(1));
        this.http = new BenchHttp(vertx, o.clients());
        this.load = new ClosedLoop(vertx, o.clients(), 0x5EAD);
    }

    public static void main(String[] args) {
        ReadBench bench = new ReadBench(BenchArgs.parseOrExit("bench read", USAGE, () -> parse(args)));
        BenchArgs.runAndExit("bench read", bench.vertx, bench::run);
    }

    private int run() throws Exception {
        Report r = new Report();
        coordinator = MirrorCheck.ready(http, o.url(), o.coordinator());
        System.out.printf(Locale.ROOT, "read bench: mirror %s (coordinator %s), %d clients (one connection and one request in flight "
                + "each), %,d keys, %d s per phase%n", o.url(), coordinator, o.clients(), o.keys(), o.seconds());

        long t0 = System.nanoTime();
        String token = preload();
        r.preloadSeconds = (System.nanoTime() - t0) / 1e9;
        long t1 = System.nanoTime();
        Reply caught = http.await(HttpMethod.GET, o.url(), "/v1/kv/" + MARKER + "?consistency=causal&after=" + java.net.URLEncoder.encode(token, java.nio.charset.StandardCharsets.UTF_8)
                + "&timeoutMs=60000");
        if (caught.status() != 200) {
            throw new BenchArgs.Failure("the mirror did not apply the preloaded keys (causal read of " + MARKER + " after " + token
                    + " answered " + caught.status() + " " + caught.text() + ")");
        }
        r.catchUpMs = (System.nanoTime() - t1) / 1e6;
        System.out.printf(Locale.ROOT, "  preloaded %,d keys through the coordinator in %.1f s; the mirror had them all %.0f ms "
                + "after the last commit (causal read with its token)%n", o.keys(), r.preloadSeconds, r.catchUpMs);

        AtomicLong fromPrimary = new AtomicLong();
        ClosedLoop.Op read = c -> http.call(HttpMethod.GET, o.url(), "/v1/kv/" + key(c.rnd.nextInt(o.keys())), null)
                .compose(rep -> {
                    if (rep.status() != 200) {
                        return Future.failedFuture("GET /v1/kv: " + rep.status() + " " + rep.text());
                    }
                    if (c.inWindow() && !rep.string().contains("\"source\":\"local\"")) {
                        fromPrimary.incrementAndGet();
                    }
                    return Future.succeededFuture();
                });
        if (o.warmup() > 0) {
            System.out.printf("  warming up %d s (not measured)…%n", o.warmup());
            load.run(o.warmup(), read, null);
        }
        fromPrimary.set(0);
        ClosedLoop.Result reads = load.run(o.seconds(), read, progress("read"));
        r.reads = reads.done();
        r.readErrors = reads.errors();
        r.fromPrimary = fromPrimary.get();
        r.readSeconds = reads.seconds();
        r.readRps = reads.rate();
        r.readP50 = LatencyLog.percentileMillis(reads.latencies(), 0.50);
        r.readP99 = LatencyLog.percentileMillis(reads.latencies(), 0.99);
        r.readMax = LatencyLog.percentileMillis(reads.latencies(), 1.0);
        r.clientCpuRead = reads.clientCpu();
        r.machineCpuRead = reads.machineCpu();
        if (reads.done() == 0) {
            throw new BenchArgs.Failure("no read succeeded; first error: " + reads.firstError());
        }

        ClosedLoop.Op ping = c -> http.call(HttpMethod.GET, o.url(), "/v1/ping", null).compose(rep -> rep.status() == 200
                ? Future.succeededFuture() : Future.failedFuture("GET /v1/ping: " + rep.status() + " " + rep.text()));
        if (o.warmup() > 0) {
            load.run(1, ping, null);
        }
        ClosedLoop.Result pings = load.run(o.seconds(), ping, progress("ping"));
        r.pingRps = pings.rate();
        r.pingErrors = pings.errors();
        r.pingP50 = LatencyLog.percentileMillis(pings.latencies(), 0.50);
        r.pingP99 = LatencyLog.percentileMillis(pings.latencies(), 0.99);
        r.machineCpuPing = pings.machineCpu();
        if (pings.done() == 0) {
            throw new BenchArgs.Failure("no ping succeeded at " + o.url() + "/v1/ping; first error: " + pings.firstError());
        }

        System.out.print(summary(r));
        if (reads.firstError() != null) {
            System.out.println("  first read error: " + reads.firstError());
        }
        System.out.println(ResultLine.of(resultFields(o, r)));
        return 0;
    }

    private static ClosedLoop.Progress progress(String name) {
        return (s, n) -> System.out.printf(Locale.ROOT, "    %s %2d s: %,8d req/s%n", name, s, n);
    }

    /** Writes the keys through the coordinator, four transactions at a time; returns the marker's token. */
    private String preload() throws Exception {
        int inflight = 4;
        java.util.List<Future<Reply>> pending = new java.util.ArrayList<>();
        for (int from = 0; from < o.keys(); from += WRITES_PER_TXN) {
            int to = Math.min(o.keys(), from + WRITES_PER_TXN);
            pending.add(http.call(HttpMethod.POST, coordinator, "/v1/transactions", Buffer.buffer(preloadBody(from, to))));
            if (pending.size() == inflight || to == o.keys()) {
                for (Future<Reply> f : pending) {
                    Reply rep = f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
                    if (rep.status() != 200) {
                        throw new BenchArgs.Failure("preloading through the coordinator at " + coordinator + ": POST /v1/transactions answered "
                                + rep.status() + " " + rep.text());
                    }
                }
                pending.clear();
            }
        }
        Reply marker = http.await(HttpMethod.PUT, coordinator, "/v1/kv/" + MARKER, Long.toString(System.currentTimeMillis()));
        String token = marker.status() == 200 ? JsonFields.topLevelString(marker.string(), "token") : null;
        if (token == null) {
            throw new BenchArgs.Failure("PUT /v1/kv/" + MARKER + " at the coordinator answered " + marker.status() + " " + marker.text());
        }
        return token;
    }
}
