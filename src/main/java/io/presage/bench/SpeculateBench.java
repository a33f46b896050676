package io.presage.bench;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
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
 * {@code ./presage bench speculate}: procedure calls at a mirror forwarded to the coordinator against
 * the same calls run speculatively, in one run with the same client machinery ({@link ClosedLoop}).
 *
 * <p>Phases, {@code seconds} each after a warm-up of both: {@code increment} of a random key of
 * {@code keys} with a fresh {@code ?id=}, forwarded (latency to the coordinator's 200 COMMITTED), then
 * with {@code speculative=true} (latency to the mirror's 202). For one speculative call in
 * {@code sample}, a prober asks {@code GET /v1/transactions/{id}} every 2 ms until the speculation is
 * decided: call sent → decided seen is the decision latency (so it includes up to 2 ms of polling).
 * The outcomes come from the mirror's {@code /v1/status} speculation counts around the phase, read
 * after every speculation of the phase is decided. Last line: {@code RESULT {json}}, {@code "bench":"speculate"}.
 */
public final class SpeculateBench {

    static final String USAGE = "usage: ./presage bench speculate [--url URL (http://127.0.0.1:8081, a mirror)] [--seconds S (10)]\n"
            + "         [--clients C (16)] [--keys K (1000)] [--warmup S (3)] [--sample N (20)] [--rate CALLS (0: as fast as possible)]\n"
            + "         [--io-threads N (1)]";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long PROBE_EVERY_MS = 2;

    record Options(URI url, int seconds, int clients, int keys, int warmup, int sample, double rate, int ioThreads) {
    }

    static Options parse(String[] args) {
        URI url = URI.create("http://127.0.0.1:8081");
        int seconds = 10;
        int clients = 16;
        int keys = 1000;
        int warmup = 3;
        int sample = 20;
        int ioThreads = 1;
        double rate = 0;
        for (Map.Entry<String, String> p : BenchArgs.pairs(args, java.util.Set.of())) {
            String a = p.getKey();
            String v = p.getValue();
            switch (a) {
                case "--url" -> url = BenchArgs.httpUrl(v, a);
                case "--seconds" -> seconds = BenchArgs.positive(a, v);
                case "--clients" -> clients = BenchArgs.positive(a, v);
                case "--keys" -> keys = BenchArgs.positive(a, v);
                case "--warmup" -> warmup = BenchArgs.nonNegative(a, v);
                case "--sample" -> sample = BenchArgs.positive(a, v);
                case "--io-threads" -> ioThreads = BenchArgs.positive(a, v);
                case "--rate" -> rate = BenchArgs.positive(a, v);
                default -> throw new IllegalArgumentException("unknown option " + a);
            }
        }
        return new Options(url, seconds, clients, keys, warmup, sample, rate, ioThreads);
    }

    /** One phase's numbers. */
    record Phase(double rps, double p50, double p99, long done, long errors, String firstError) {
        static Phase of(ClosedLoop.Result r) {
            return new Phase(r.rate(), LatencyLog.percentileMillis(r.latencies(), 0.50),
                    LatencyLog.percentileMillis(r.latencies(), 0.99), r.done(), r.errors(), r.firstError());
        }
    }

    /** Speculation outcomes counted by the mirror during the speculative phase. */
    record Outcomes(long committed, long reexecuted, long rolledBack) {
        static Outcomes between(JsonNode before, JsonNode after) {
            return new Outcomes(after.path("committed").asLong() - before.path("committed").asLong(),
                    after.path("reexecuted").asLong() - before.path("reexecuted").asLong(),
                    after.path("rolled_back").asLong() - before.path("rolled_back").asLong());
        }
    }

    static Map<String, Object> resultFields(Options o, Phase forwarded, Phase speculative, double decidedP50,
            double decidedP99, long decidedSampled, Outcomes out) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bench", "speculate");
        m.put("url", o.url().toString());
        m.put("seconds", o.seconds());
        m.put("clients", o.clients());
        m.put("keys", o.keys());
        if (o.rate() > 0) {
            m.put("target_rate", o.rate());
        }
        m.put("forwarded_rps", Math.round(forwarded.rps()));
        m.put("forwarded_p50_ms", forwarded.p50());
        m.put("forwarded_p99_ms", forwarded.p99());
        m.put("speculative_rps", Math.round(speculative.rps()));
        m.put("speculative_answer_p50_ms", speculative.p50());
        m.put("speculative_answer_p99_ms", speculative.p99());
        m.put("decided_p50_ms", decidedP50);
        m.put("decided_p99_ms", decidedP99);
        m.put("decided_sampled", decidedSampled);
        m.put("committed", out.committed());
        m.put("reexecuted", out.reexecuted());
        m.put("rolled_back", out.rolledBack());
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        return m;
    }

    // ---------------------------------------------------------------------------------------------

    private record Sampled(String id, long sentNanos) {
    }

    private final Options o;
    private final Vertx vertx;
    private final BenchHttp http;
    private final ClosedLoop load;
    private final String runTag = Long.toString(System.currentTimeMillis(), 36);
    private final AtomicLong ids = new AtomicLong();
    private final ConcurrentLinkedQueue<Sampled> undecided = new ConcurrentLinkedQueue<>();
    private volatile LatencyLog decided = new LatencyLog();
    private volatile boolean sampling;

    private SpeculateBench(Options o) {
        this.o = o;
        this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(o.ioThreads()).setWorkerPoolSize(1)
                .setInternalBlockingPoolSize(1));
        this.http = new BenchHttp(vertx, o.clients() + 1);
        this.load = new ClosedLoop(vertx, o.clients(), 0x5BEC);
    }

    public static void main(String[] args) {
        SpeculateBench bench = new SpeculateBench(BenchArgs.parseOrExit("bench speculate", USAGE, () -> parse(args)));
        BenchArgs.runAndExit("bench speculate", bench.vertx, bench::run);
    }

    private int run() throws Exception {
        URI coordinator = MirrorCheck.ready(http, o.url(), null);
        System.out.printf(Locale.ROOT, "speculate bench: mirror %s (coordinator %s), %d clients, increment of one of %,d keys, "
                + "%d s per phase, %s%n", o.url(), coordinator, o.clients(), o.keys(), o.seconds(),
                o.rate() > 0 ? String.format(Locale.ROOT, "%,.0f calls/s in all", o.rate()) : "as fast as they can");
        ClosedLoop.Op forwarded = c -> call(c, false);
        ClosedLoop.Op speculative = c -> call(c, true);
        if (o.warmup() > 0) {
            System.out.printf("  warming up %d s of each (not measured)…%n", o.warmup());
            load.run(o.warmup(), forwarded, null, o.rate());
            load.run(o.warmup(), speculative, null, o.rate());
            awaitDecided(60);
        }
        Phase fwd = Phase.of(check(load.run(o.seconds(), forwarded, progress("forwarded"), o.rate()), "forwarded"));

        JsonNode before = speculations();
        decided = new LatencyLog();
        sampling = true;
        long probe = vertx.setPeriodic(PROBE_EVERY_MS, t -> probe());
        Phase spec = Phase.of(check(load.run(o.seconds(), speculative, progress("speculative"), o.rate()), "speculative"));
        sampling = false;
        awaitDecided(120);
        vertx.cancelTimer(probe);
        Outcomes out = Outcomes.between(before, speculations());
        long[] d = LatencyLog.sortedUnion(java.util.List.of(decided));

        System.out.printf(Locale.ROOT, "  forwarded   (200 from the coordinator): %,.0f calls/s, latency p50 %.2f ms, p99 %.2f ms%n",
                fwd.rps(), fwd.p50(), fwd.p99());
        System.out.printf(Locale.ROOT, "  speculative (202 from the mirror):      %,.0f calls/s, latency p50 %.2f ms, p99 %.2f ms "
                + "(%.1f × faster at p50)%n", spec.rps(), spec.p50(), spec.p99(), fwd.p50() / spec.p50());
        System.out.printf(Locale.ROOT, "  decided (sent → COMMITTED/REEXECUTED/ROLLED_BACK seen, %,d sampled): p50 %s ms, p99 %s ms%n",
                d.length, ResultLine.opt(LatencyLog.percentileMillis(d, 0.5), "%.1f"), ResultLine.opt(LatencyLog.percentileMillis(d, 0.99), "%.1f"));
        System.out.printf(Locale.ROOT, "  outcomes at the mirror: %,d committed as speculated, %,d re-executed, %,d rolled back%n",
                out.committed(), out.reexecuted(), out.rolledBack());
        System.out.println(ResultLine.of(resultFields(o, fwd, spec, LatencyLog.percentileMillis(d, 0.5),
                LatencyLog.percentileMillis(d, 0.99), d.length, out)));
        return 0;
    }

    private Future<?> call(ClosedLoop.Client c, boolean speculative) {
        String id = "sb-" + runTag + "-" + ids.incrementAndGet();
        long sent = System.nanoTime();
        String path = "/v1/procedures/increment?id=" + id + (speculative ? "&speculative=true" : "");
        Buffer body = Buffer.buffer("{\"key\":\"spec-bench-" + c.rnd.nextInt(o.keys()) + "\"}");
        return http.call(HttpMethod.POST, o.url(), path, body).compose(rep -> {
            int expected = speculative ? 202 : 200;
            if (rep.status() != expected) {
                return Future.failedFuture("POST " + path + ": " + rep.status() + " " + rep.text());
            }
            if (speculative && sampling && c.rnd.nextInt(o.sample()) == 0) {
                undecided.add(new Sampled(id, sent));
            }
            return Future.succeededFuture();
        });
    }

    /** Asks about every sampled speculation still undecided, one request each, none twice at once. */
    private void probe() {
        int n = undecided.size();
        for (int i = 0; i < n; i++) {
            Sampled s = undecided.poll();
            if (s == null) {
                return;
            }
            http.call(HttpMethod.GET, o.url(), "/v1/transactions/" + s.id(), null).onComplete(ar -> {
                boolean done = ar.succeeded() && ar.result().status() == 200
                        && !ar.result().string().contains("\"status\":\"SPECULATIVE\"");
                if (done) {
                    synchronized (this) {
                        decided.add(System.nanoTime() - s.sentNanos());
                    }
                } else {
                    undecided.add(s);
                }
            });
        }
    }

    /**
     * Waits until the mirror has no speculation in flight and every sampled one is seen decided (the
     * prober's timer keeps asking about those).
     */
    private void awaitDecided(int seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (speculations().path("pending").asLong() > 0 || !undecided.isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new BenchArgs.Failure("speculations still undecided after " + seconds + " s: " + speculations());
            }
            Thread.sleep(20);
        }
    }

    private JsonNode speculations() throws Exception {
        Reply r = http.await(HttpMethod.GET, o.url(), "/v1/status");
        return JSON.readTree(r.string()).path("speculations");
    }

    private static ClosedLoop.Result check(ClosedLoop.Result r, String phase) {
        if (r.done() == 0) {
            throw new BenchArgs.Failure("no " + phase + " call succeeded; first error: " + r.firstError());
        }
        if (r.firstError() != null) {
            System.out.printf("  %s: %,d errors; first: %s%n", phase, r.errors(), r.firstError());
        }
        return r;
    }

    private static ClosedLoop.Progress progress(String name) {
        return (s, n) -> System.out.printf(Locale.ROOT, "    %s %2d s: %,8d calls/s%n", name, s, n);
    }
}
