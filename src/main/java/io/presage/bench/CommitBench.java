package io.presage.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

import io.nats.client.Connection;
import io.nats.client.JetStream;
import io.nats.client.Nats;
import io.presage.log.BatchCodec;
import io.presage.log.LogBatch;
import io.presage.log.LogTxn;
import io.presage.log.LogWrite;
import io.presage.bench.BenchHttp.Reply;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

/**
 * {@code ./presage bench commit}: end-to-end commit throughput and latency of the running cluster over
 * HTTP, next to the ceilings it should be compared with, all measured in one run against the same
 * servers: the HTTP ceiling of a trivial endpoint of the same application with the same client
 * machinery, and raw JetStream publish throughput (synchronous and asynchronous) on the same NATS.
 *
 * <p>The HTTP load is closed-loop: {@code clients} independent loops over a pool of as many keep-alive
 * connections (no pipelining), each with one request in flight, driven by Vert.x's event-loop HTTP
 * client so that one process on two cores can keep the server busy. A transaction reads two random
 * keys of a large key space ({@code GET /v1/kv/{key}}, version and value), then commits a
 * read-modify-write of both ({@code POST /v1/transactions} with the versions read and each value plus
 * one). Commit latency is the POST's, of committed transactions; transaction latency also includes the
 * two reads.
 *
 * <p>Phases: warm-up (not measured; by default until the coordinator is warm, see
 * {@link #warmEnough}), commit and ping ({@code GET /v1/ping}) for {@code seconds} each, then
 * JetStream sync publish (one at a time, each waiting for its ack) and async publish (up to
 * {@code --js-window} acks outstanding) for {@code min(seconds, 5)} each, on a scratch stream
 * {@link ScratchStream} of its own (file storage like the log, deleted afterwards; no message ids or expected
 * sequences, so raw publishing) with one encoded single-transaction log batch as the payload. The coordinator's
 * {@code /q/metrics} is read around the commit phase for group-commit batching, publish latency, GC
 * and heap. With mirrors (given with {@code --mirror URL}, else the ones found running on the ports after
 * the coordinator's, see {@link MirrorDiscovery}; {@code --no-mirrors} skips them), a sample of commits is
 * polled at the mirrors until visible ({@code ?consistency=predictive}): commit ack to visible is the
 * replication lag, {@code lag_p50_ms} / {@code lag_p99_ms} in the result.
 *
 * <p>Last line: {@code RESULT {json}}.
 */
public final class CommitBench {

    static final String USAGE = "usage: ./presage bench commit [--seconds S (10)] [--clients C (32)] [--keys K (100000)]\n"
            + "         [--warmup auto|S (auto)] [--url URL (http://127.0.0.1:8080)] [--nats URL (nats://127.0.0.1:$PRESAGE_NATS_PORT or 14222)]\n"
            + "         [--mirror URL]... | [--no-mirrors] [--reads get|batch|none|procedure (get)] [--rate TPS (0: as fast as possible)] [--ids]\n"
            + "         [--io-threads N (1)] [--js-window N (1024)]";

    private static final JsonFactory JSON = JsonFields.JSON;
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
    // The HTTP client machinery, shared by every HTTP phase

    /** One measured (or warm-up) interval: clients start operations until {@code end}. */
    static final class Run {
        final String name;
        final long start = System.nanoTime();
        final long end;
        final boolean probeLag;
        final CountDownLatch done;

        Run(String name, int seconds, int clients, boolean probeLag) {
            this.name = name;
            this.end = start + TimeUnit.SECONDS.toNanos(seconds);
            this.probeLag = probeLag;
            this.done = new CountDownLatch(clients);
        }
    }

    enum Work { COMMIT, PING }

    /**
     * One closed-loop client. Everything it does runs on its own Vert.x context (one event-loop
     * thread), so its counters and latency logs need no synchronisation; the main thread reads them
     * after the run's latch (and, racily but harmlessly, for progress lines).
     */
    final class Client {
        final Context context;
        final SplittableRandom rnd;
        long ops;
        long committed;
        long aborted;
        long unavailable;
        long errors;
        LatencyLog latency = new LatencyLog();
        LatencyLog txnLatency = new LatencyLog();
        /** With --rate: when this client may start its next transaction (it falls behind, never ahead). */
        long nextStart;
        /** With --ids: this client's ids are {@code idPrefix + n}, unique across runs and clients. */
        final String idPrefix;
        long idCount;

        Client(Context context, long seed) {
            this.context = context;
            this.rnd = new SplittableRandom(seed);
            this.idPrefix = "bench-" + RUN_ID + "-" + Long.toString(seed, 36) + "-";
        }

        /** A fresh idempotency id with --ids, else null. */
        private String nextId() {
            return o.ids ? idPrefix + (++idCount) : null;
        }

        void reset() {
            ops = committed = aborted = unavailable = errors = 0;
            latency = new LatencyLog();
            txnLatency = new LatencyLog();
        }

        void start(Run run, Work work) {
            context.runOnContext(v -> next(run, work));
        }

        private void next(Run run, Work work) {
            if (System.nanoTime() >= run.end) {
                run.done.countDown();
                return;
            }
            if (work == Work.COMMIT && o.rate > 0) {
                // Open-loop pacing: the clients together start o.rate transactions a second, so a
                // measurement (replication lag) can be taken at a chosen share of the maximum rate.
                long now = System.nanoTime();
                long interval = Pacing.interval(o.clients, o.rate);
                nextStart = Pacing.nextStart(nextStart, interval, now);
                long wait = nextStart - now;
                if (wait >= 1_000_000) {
                    vertx.setTimer(wait / 1_000_000, id -> go(run, work));
                    return;
                }
            }
            go(run, work);
        }

        private void go(Run run, Work work) {
            Future<Void> op = work == Work.COMMIT ? transaction(run) : ping(run);
            op.onComplete(ar -> {
                if (ar.succeeded()) {
                    next(run, work);
                } else {
                    errors++;
                    error(ar.cause().toString());
                    // A refused connection fails at once: do not spin.
                    vertx.setTimer(10, id -> next(run, work));
                }
            });
        }

        private Future<Void> ping(Run run) {
            long t0 = System.nanoTime();
            return http.call(HttpMethod.GET, o.url, "/v1/ping", null).map(r -> {
                long t1 = System.nanoTime();
                if (t1 > run.end) {
                    return null;
                }
                if (r.status() == 200) {
                    ops++;
                    latency.add(t1 - t0);
                } else {
                    errors++;
                    error("GET /v1/ping: " + r.status() + " " + r.text());
                }
                return null;
            });
        }

        private Future<Void> transaction(Run run) {
            int a = rnd.nextInt(o.keys);
            int b = rnd.nextInt(o.keys - 1);
            b = b >= a ? b + 1 : b; // distinct, uniform
            String ka = key(a);
            String kb = key(b);
            long t0 = System.nanoTime();
            String id = nextId();
            if (o.reads == Reads.PROCEDURE) {
                Buffer body = Buffer.buffer("{\"from\":\"" + ka + "\",\"to\":\"" + kb + "\",\"amount\":1}");
                String path = "/v1/procedures/transfer" + (id == null ? "" : "?id=" + id);
                return http.call(HttpMethod.POST, o.url, path, body)
                        .map(r -> counted(run, r, "POST /v1/procedures/transfer", ka, t0, t0));
            }
            return reads(ka, kb).compose(items -> {
                Buffer body = Buffer.buffer(transactionBody(ka, items[0], kb, items[1], o.reads != Reads.NONE, id));
                long t1 = System.nanoTime();
                return http.call(HttpMethod.POST, o.url, "/v1/transactions", body)
                        .map(r -> counted(run, r, "POST /v1/transactions", ka, t0, t1));
            });
        }

        /** Counts a commit's answer: {@code t0} the transaction's start, {@code t1} its commit request's. */
        private Void counted(Run run, BenchHttp.Reply r, String what, String ka, long t0, long t1) {
            long t2 = System.nanoTime();
            if (t2 > run.end) {
                return null;
            }
            switch (r.status()) {
                case 200 -> {
                    committed++;
                    latency.add(t2 - t1);
                    txnLatency.add(t2 - t0);
                    if (run.probeLag) {
                        lag.maybeProbe(ka, r.body().getBytes(), t2);
                    }
                }
                case 409 -> aborted++;
                case 503 -> {
                    unavailable++;
                    error(what + ": 503 " + r.text());
                }
                default -> {
                    errors++;
                    error(what + ": " + r.status() + " " + r.text());
                }
            }
            return null;
        }

        /** What the transaction reads of its two keys (nothing, for blind writes: versions 0, numbers random). */
        private Future<Item[]> reads(String ka, String kb) {
            return switch (o.reads) {
                case GET -> read(ka).compose(ra -> read(kb).map(rb -> new Item[] {ra, rb}));
                case BATCH -> readBatch(ka, kb);
                case NONE -> Future.succeededFuture(new Item[] {new Item(0, rnd.nextInt(1_000_000)),
                    new Item(0, rnd.nextInt(1_000_000))});
                case PROCEDURE -> throw new IllegalStateException("a procedure reads at the coordinator");
            };
        }

        private Future<Item[]> readBatch(String ka, String kb) {
            Buffer body = Buffer.buffer("{\"keys\":[\"" + ka + "\",\"" + kb + "\"]}");
            return http.call(HttpMethod.POST, o.url, "/v1/kv/_batch", body).compose(r -> {
                if (r.status() != 200) {
                    return Future.failedFuture("POST /v1/kv/_batch: " + r.status() + " " + r.text());
                }
                try {
                    List<Item> items = Item.parseBatch(r.body().getBytes());
                    if (items.size() != 2) {
                        throw new IOException("expected 2 items");
                    }
                    return Future.succeededFuture(items.toArray(new Item[0]));
                } catch (IOException | RuntimeException e) {
                    return Future.failedFuture("POST /v1/kv/_batch: unreadable answer " + r.text());
                }
            });
        }

        private Future<Item> read(String key) {
            return http.call(HttpMethod.GET, o.url, "/v1/kv/" + key, null).compose(r -> {
                if (r.status() != 200 && r.status() != 404) {
                    return Future.failedFuture("GET /v1/kv/" + key + ": " + r.status() + " " + r.text());
                }
                try {
                    return Future.succeededFuture(Item.parse(r.body().getBytes()));
                } catch (IOException | RuntimeException e) {
                    return Future.failedFuture("GET /v1/kv/" + key + ": unreadable answer " + r.text());
                }
            });
        }
    }

    static String key(int i) {
        return "bench-k" + i;
    }

    /** What a read returns: the version (0 if never written) and the value if it is a whole number. */
    record Item(long version, long number) {
        /** A {@code GET /v1/kv/{key}} answer, found (200) or not (404). */
        static Item parse(byte[] json) throws IOException {
            try (JsonParser p = JSON.createParser(json)) {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw new IOException("not a JSON object");
                }
                return fields(p);
            }
        }

        /** The items of a {@code POST /v1/kv/_batch} answer, in order. */
        static List<Item> parseBatch(byte[] json) throws IOException {
            List<Item> items = new ArrayList<>(2);
            try (JsonParser p = JSON.createParser(json)) {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw new IOException("not a JSON object");
                }
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    JsonToken t = p.nextToken();
                    if ("items".equals(field) && t == JsonToken.START_ARRAY) {
                        while (p.nextToken() == JsonToken.START_OBJECT) {
                            items.add(fields(p));
                        }
                    } else {
                        p.skipChildren();
                    }
                }
            }
            return items;
        }

        /** The fields of the object just started, up to its end. */
        private static Item fields(JsonParser p) throws IOException {
            long version = -1;
            long number = 0;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                if ("version".equals(field) && t == JsonToken.VALUE_NUMBER_INT) {
                    version = p.getLongValue();
                } else if ("value".equals(field) && t == JsonToken.VALUE_NUMBER_INT) {
                    number = p.getLongValue();
                } else {
                    p.skipChildren();
                }
            }
            if (version < 0) {
                throw new IOException("no version in the item");
            }
            return new Item(version, number);
        }
    }

    /**
     * The read-modify-write: both versions read, each value plus one (with {@code withReads} false, the
     * same writes blind), under the idempotency {@code id} unless it is null. Keys and ids need no JSON escaping.
     */
    static String transactionBody(String ka, Item ra, String kb, Item rb, boolean withReads, String id) {
        String reads = withReads ? "{\"key\":\"" + ka + "\",\"version\":" + ra.version + "},{\"key\":\"" + kb
                + "\",\"version\":" + rb.version + "}" : "";
        return "{" + (id == null ? "" : "\"id\":\"" + id + "\",") + "\"reads\":[" + reads + "],\"writes\":[{\"key\":\"" + ka + "\",\"value\":" + (ra.number + 1)
                + "},{\"key\":\"" + kb + "\",\"value\":" + (rb.number + 1) + "}]}";
    }

    // ---------------------------------------------------------------------------------------------
    // Replication lag at the mirrors (only with --mirror)

    // ---------------------------------------------------------------------------------------------
    // Results

    /** Everything measured; fields stay NaN (or -1) when not measured. */
    static final class Report {
        long committed;
        long aborted;
        long unavailable;
        long errors;
        double commitSeconds;
        double commitTps;
        double commitP50;
        double commitP90;
        double commitP99;
        double commitMax;
        double txnP50;
        double txnP99;
        double commitPhaseHttpRps;
        double pingRps;
        double pingP50;
        double pingP99;
        double syncTps;
        double syncP50;
        double syncP99;
        double asyncTps;
        int payloadBytes;
        double heapAfterGcMb = Double.NaN;
        double heapUsedMb = Double.NaN;
        double liveDataMb = Double.NaN;
        double meanBatchTxns = Double.NaN;
        double meanBatchBytes = Double.NaN;
        double meanPublishMs = Double.NaN;
        double gcPauses = Double.NaN;
        double gcPauseMs = Double.NaN;
        double coordinatorCpuCores = Double.NaN;
        /** The coordinator's CPU time and allocation per committed transaction: what a change to the commit path saves. */
        double coordinatorCpuUsPerCommit = Double.NaN;
        double coordinatorAllocKbPerCommit = Double.NaN;
        /** The same for a ping, measured around the ping phase: what a commit costs beyond an HTTP request. */
        double coordinatorCpuUsPerPing = Double.NaN;

        /** The whole machine's CPU (client, servers, everything) per commit and per ping, in µs. */
        double machineCpuUsPerCommit() {
            return machineCpuCommit * 1e6 / commitTps;
        }

        double machineCpuUsPerPing() {
            return machineCpuPing * 1e6 / pingRps;
        }
        double clientCpuCommit = Double.NaN;
        double clientCpuPing = Double.NaN;
        double machineCpuCommit = Double.NaN;
        double machineCpuPing = Double.NaN;
        double machineCpuIdle = Double.NaN;
        /** How long the coordinator's JVM had been running when the commit phase began. */
        double coordinatorUptimeS = Double.NaN;
        /** Transactions the coordinator had committed since it started, when the measured phase began. */
        double coordinatorCommittedBefore = Double.NaN;
        int warmupSeconds;
        boolean mirrors;
        long lagSamples;
        long lagTimeouts;
        double lagP50 = Double.NaN;
        double lagP99 = Double.NaN;

        double abortRate() {
            long n = committed + aborted;
            return n == 0 ? 0 : (double) aborted / n;
        }
    }

    static Map<String, Object> resultFields(Options o, Report r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bench", "commit");
        m.put("seconds", o.seconds);
        m.put("clients", o.clients);
        m.put("keys", o.keys);
        m.put("reads", o.reads.label());
        m.put("ids", o.ids);
        if (o.rate > 0) {
            m.put("target_rate_tps", o.rate);
        }
        m.put("commit_tps", Math.round(r.commitTps));
        m.put("commit_p50_ms", r.commitP50);
        m.put("commit_p90_ms", r.commitP90);
        m.put("commit_p99_ms", r.commitP99);
        m.put("commit_max_ms", r.commitMax);
        m.put("txn_p50_ms", r.txnP50);
        m.put("txn_p99_ms", r.txnP99);
        m.put("committed", r.committed);
        m.put("aborted", r.aborted);
        m.put("unavailable", r.unavailable);
        m.put("errors", r.errors);
        m.put("abort_rate", r.abortRate());
        m.put("commit_phase_http_rps", Math.round(r.commitPhaseHttpRps));
        m.put("http_ceiling_rps", Math.round(r.pingRps));
        m.put("ping_p50_ms", r.pingP50);
        m.put("ping_p99_ms", r.pingP99);
        m.put("jetstream_sync_publish_tps", Math.round(r.syncTps));
        m.put("jetstream_sync_publish_p50_ms", r.syncP50);
        m.put("jetstream_sync_publish_p99_ms", r.syncP99);
        m.put("jetstream_async_publish_tps", Math.round(r.asyncTps));
        m.put("jetstream_payload_bytes", r.payloadBytes);
        m.put("commit_vs_http_ceiling", r.pingRps > 0 ? r.commitTps / r.pingRps : Double.NaN);
        m.put("commit_vs_sync_publish", r.syncTps > 0 ? r.commitTps / r.syncTps : Double.NaN);
        m.put("coordinator_heap_after_gc_mb", r.heapAfterGcMb);
        m.put("coordinator_uptime_s", r.coordinatorUptimeS);
        m.put("coordinator_committed_before", r.coordinatorCommittedBefore);
        m.put("warmup_s", r.warmupSeconds);
        m.put("coordinator_heap_used_mb", r.heapUsedMb);
        m.put("coordinator_live_data_mb", r.liveDataMb);
        m.put("group_commit_mean_txns", r.meanBatchTxns);
        m.put("group_commit_mean_bytes", r.meanBatchBytes);
        m.put("publish_mean_ms", r.meanPublishMs);
        m.put("coordinator_gc_pauses", r.gcPauses);
        m.put("coordinator_gc_pause_ms", r.gcPauseMs);
        m.put("coordinator_cpu_cores", r.coordinatorCpuCores);
        m.put("coordinator_cpu_us_per_commit", r.coordinatorCpuUsPerCommit);
        m.put("coordinator_alloc_kb_per_commit", r.coordinatorAllocKbPerCommit);
        m.put("coordinator_cpu_us_per_ping", r.coordinatorCpuUsPerPing);
        m.put("machine_cpu_us_per_commit", r.machineCpuUsPerCommit());
        m.put("machine_cpu_us_per_ping", r.machineCpuUsPerPing());
        m.put("client_cpu_cores_commit", r.clientCpuCommit);
        m.put("client_cpu_cores_ping", r.clientCpuPing);
        m.put("machine_cpu_cores_commit", r.machineCpuCommit);
        m.put("machine_cpu_cores_ping", r.machineCpuPing);
        m.put("machine_cpu_cores_before", r.machineCpuIdle);
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        if (r.mirrors) {
            m.put("lag_p50_ms", r.lagP50);
            m.put("lag_p99_ms", r.lagP99);
            m.put("lag_samples", r.lagSamples);
            m.put("lag_timeouts", r.lagTimeouts);
        }
        return m;
    }

    // ---------------------------------------------------------------------------------------------
    // Running it

    private final Options o;
    private final Vertx vertx;
    private final BenchHttp http;
    private final List<Client> clients = new ArrayList<>();
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
            clients.add(new Client(vertx.getOrCreateContext(), 0x5EED + i));
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
        Report r = new Report();
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
            Phase commit = runPhase(new Run("commit", o.seconds, o.clients, r.mirrors), Work.COMMIT, true);
            PrometheusText after = scrape();
            if (r.mirrors) {
                lag.awaitProbes();
            }
            commitResults(r, commit, before, after);
            printCommit(r, commit);

            if (o.warmup != 0) {
                runPhase(new Run("ping warm-up", 1, o.clients, false), Work.PING, false);
            }
            PrometheusText beforePing = scrape();
            Phase ping = runPhase(new Run("ping", o.seconds, o.clients, false), Work.PING, true);
            PrometheusText afterPing = scrape();
            if (beforePing != null && afterPing != null) {
                r.coordinatorCpuUsPerPing = cpuUsPerOp(beforePing, afterPing, ping.ops());
            }
            long[] pl = ping.latencies();
            r.pingRps = ping.ops() / ping.seconds();
            r.pingP50 = LatencyLog.percentileMillis(pl, 0.50);
            r.pingP99 = LatencyLog.percentileMillis(pl, 0.99);
            r.clientCpuPing = ping.clientCpu();
            r.machineCpuPing = ping.machineCpu();
            System.out.printf(Locale.ROOT, "  ping (HTTP ceiling, GET /v1/ping): %,.0f req/s, latency p50 %.2f ms p99 %.2f ms, "
                            + "%d errors; CPU: client %.2f cores, machine %s%n",
                    r.pingRps, r.pingP50, r.pingP99, ping.errors(), r.clientCpuPing, cores(r.machineCpuPing));
            // The ratio targets in one line of cost: the 0.5 × target needs a commit to cost at most two pings.
            System.out.printf(Locale.ROOT, "  CPU per operation: whole machine %s µs per commit, %s µs per ping (%s ×); "
                            + "coordinator %s µs per commit, %s µs per ping (%s ×)%n",
                    ResultLine.opt(r.machineCpuUsPerCommit(), "%.0f"), ResultLine.opt(r.machineCpuUsPerPing(), "%.0f"),
                    ResultLine.opt(r.machineCpuUsPerCommit() / r.machineCpuUsPerPing(), "%.1f"),
                    ResultLine.opt(r.coordinatorCpuUsPerCommit, "%.0f"), ResultLine.opt(r.coordinatorCpuUsPerPing, "%.0f"),
                    ResultLine.opt(r.coordinatorCpuUsPerCommit / r.coordinatorCpuUsPerPing, "%.1f"));

            rawJetStream(nats, r);
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
        System.out.println(ResultLine.of(resultFields(o, r)));
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

    /** {@code --warmup auto}: warm up until the coordinator is warm (see {@link #warmEnough}). */
    static final int AUTO_WARMUP = -1;
    /**
     * Transactions a coordinator commits before its JIT compiler has caught up with the commit path.
     * Measured on this project's 2-core machine (2026-11-26, fresh coordinator, default workload, 1 s
     * steps): throughput climbed from 108 to ~4,000 txn/s over the first ~35 s of load (100,000
     * commits) and stayed there, noisy, for the next 115 s; 150,000 leaves a margin. Counted in work,
     * not seconds, because the JIT compiles what has run often, not what has been up long: a
     * coordinator idle for an hour is as cold as a fresh one.
     */
    static final long WARM_COMMITS = 150_000;
    /** The auto warm-up's first step: connections open and the client's own code warms. */
    static final int WARMUP_MIN_SECONDS = 3;
    /** The auto warm-up's later steps, after each of which the coordinator's count is read again. */
    static final int WARMUP_STEP_SECONDS = 5;
    /** The auto warm-up stops here even if the coordinator is slower than that (a loaded machine). */
    static final int WARMUP_MAX_SECONDS = 120;

    /**
     * Whether the auto warm-up may stop, after {@code warmedSeconds} of it: once the coordinator has
     * committed {@link #WARM_COMMITS} since it started (NaN: its metrics cannot tell, so do not wait on
     * them), never before {@link #WARMUP_MIN_SECONDS}, always at {@link #WARMUP_MAX_SECONDS}.
     */
    static boolean warmEnough(double committedSinceStart, int warmedSeconds) {
        if (warmedSeconds < WARMUP_MIN_SECONDS) {
            return false;
        }
        return Double.isNaN(committedSinceStart) || committedSinceStart >= WARM_COMMITS
                || warmedSeconds >= WARMUP_MAX_SECONDS;
    }

    /** The transactions the coordinator has committed since it started, from its metrics (NaN if absent). */
    static double committedSinceStart(PrometheusText metrics) {
        return metrics == null ? Double.NaN
                : metrics.get("presage_commits_total", "outcome", "committed").orElse(Double.NaN);
    }

    /** Runs the warm-up; false (after saying why) if not one transaction committed in it. */
    private boolean warmUp(Report r) throws InterruptedException {
        if (o.warmup == 0) {
            return true;
        }
        if (o.warmup > 0) {
            System.out.printf("  warming up %d s (not measured)…%n", o.warmup);
            r.warmupSeconds = o.warmup;
            return warmUpStep(o.warmup);
        }
        System.out.printf(Locale.ROOT, "  warming up (not measured) until the coordinator has committed %,d transactions since it "
                + "started, so that its JIT compiler has caught up; %d to %d s…%n", WARM_COMMITS, WARMUP_MIN_SECONDS, WARMUP_MAX_SECONDS);
        int warmed = 0;
        double committed = Double.NaN;
        while (!warmEnough(committed, warmed)) {
            int step = warmed == 0 ? WARMUP_MIN_SECONDS : Math.min(WARMUP_STEP_SECONDS, WARMUP_MAX_SECONDS - warmed);
            if (!warmUpStep(step)) {
                return false;
            }
            warmed += step;
            committed = committedSinceStart(scrape());
            if (!Double.isNaN(committed) && committed < WARM_COMMITS) {
                System.out.printf(Locale.ROOT, "    warm-up %3d s: the coordinator has committed %,.0f%n", warmed, committed);
            }
        }
        r.warmupSeconds = warmed;
        return true;
    }

    private boolean warmUpStep(int seconds) throws InterruptedException {
        Phase w = runPhase(new Run("warm-up", seconds, o.clients, false), Work.COMMIT, false);
        if (w.committed() == 0 && w.unavailable() + w.errors() > 0) {
            System.err.println("presage bench commit: error: no transaction committed during the warm-up; first error: "
                    + firstError.get());
            return false;
        }
        return true;
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

    private Phase runPhase(Run run, Work work, boolean progress) throws InterruptedException {
        for (Client c : clients) {
            c.reset();
        }
        CpuClock cpu = CpuClock.now();
        Run started = run;
        for (Client c : clients) {
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
                for (Client c : clients) {
                    ops += work == Work.COMMIT ? c.committed : c.ops;
                    aborted += c.aborted;
                    failed += c.unavailable + c.errors;
                }
                System.out.printf(Locale.ROOT, "    %s %2d/%d s: %,8d %s/s%s%n", run.name,
                        TimeUnit.NANOSECONDS.toSeconds(tick - run.start), TimeUnit.NANOSECONDS.toSeconds(run.end - run.start),
                        ops - lastOps, work == Work.COMMIT ? "txn" : "req",
                        work == Work.COMMIT ? String.format(Locale.ROOT, " (%,d aborted, %,d failed so far)", aborted, failed) : "");
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
        for (Client c : clients) {
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

    private void commitResults(Report r, Phase p, PrometheusText before, PrometheusText after) {
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
        if (after != null) {
            r.heapAfterGcMb = mb(after.heapAfterGcBytes());
            r.heapUsedMb = mb(after.heapUsedBytes());
            r.liveDataMb = mb(after.sum("jvm_gc_live_data_size_bytes"));
        }
        if (before != null && after != null) {
            double messages = delta(before, after, "presage_group_commit_batch_transactions_count");
            r.meanBatchTxns = delta(before, after, "presage_group_commit_batch_transactions_sum") / messages;
            r.meanBatchBytes = delta(before, after, "presage_group_commit_batch_bytes_sum")
                    / delta(before, after, "presage_group_commit_batch_bytes_count");
            r.meanPublishMs = 1e3 * delta(before, after, "presage_publish_seconds_sum")
                    / delta(before, after, "presage_publish_seconds_count");
            r.gcPauses = delta(before, after, "jvm_gc_pause_seconds_count");
            r.gcPauseMs = 1e3 * delta(before, after, "jvm_gc_pause_seconds_sum");
            // Micrometer's process CPU time counter, when the JVM provides it.
            r.coordinatorCpuCores = delta(before, after, "process_cpu_time_ns_total") / 1e9 / p.seconds();
            costsPerCommit(r, before, after, p.committed());
        }
        if (r.mirrors) {
            long[] lags = lag.sorted();
            r.lagSamples = lags.length;
            r.lagTimeouts = lag.timeouts();
            r.lagP50 = lags.length == 0 ? Double.NaN : LatencyLog.percentileMillis(lags, 0.50);
            r.lagP99 = lags.length == 0 ? Double.NaN : LatencyLog.percentileMillis(lags, 0.99);
        }
    }

    /** The coordinator's CPU time and allocation per committed transaction, from its metrics around the phase. */
    static void costsPerCommit(Report r, PrometheusText before, PrometheusText after, long committed) {
        if (committed <= 0) {
            return;
        }
        r.coordinatorCpuUsPerCommit = cpuUsPerOp(before, after, committed);
        // Micrometer counts what the young generation (all of the heap, for a single-generation
        // collector such as Shenandoah) grew by between collections.
        r.coordinatorAllocKbPerCommit = delta(before, after, "jvm_gc_memory_allocated_bytes_total") / 1024 / committed;
    }

    /** The coordinator's CPU time per operation, in µs, from its counter around a phase of {@code ops} operations. */
    static double cpuUsPerOp(PrometheusText before, PrometheusText after, long ops) {
        return ops <= 0 ? Double.NaN : delta(before, after, "process_cpu_time_ns_total") / 1e3 / ops;
    }

    private static double delta(PrometheusText before, PrometheusText after, String name) {
        OptionalDouble a = after.sum(name);
        OptionalDouble b = before.sum(name);
        return a.isPresent() && b.isPresent() ? a.getAsDouble() - b.getAsDouble() : Double.NaN;
    }

    private static double mb(OptionalDouble bytes) {
        return bytes.isPresent() ? bytes.getAsDouble() / (1024 * 1024) : Double.NaN;
    }

    private static String cores(double c) {
        return Double.isNaN(c) ? "n/a" : String.format(Locale.ROOT, "%.2f of %d cores busy", c,
                Runtime.getRuntime().availableProcessors());
    }

    /** Every key gets a balance no run of transfers of 1 can exhaust, in transactions of 500 writes, 4 at a time. */
    private void preloadAccounts() throws Exception {
        long t0 = System.nanoTime();
        List<Future<BenchHttp.Reply>> pending = new ArrayList<>();
        for (int from = 0; from < o.keys; from += PRELOAD_WRITES) {
            int to = Math.min(o.keys, from + PRELOAD_WRITES);
            pending.add(http.call(HttpMethod.POST, o.url, "/v1/transactions", Buffer.buffer(accountsBody(from, to))));
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
        System.out.printf(Locale.ROOT, "  gave each of the %,d keys a balance of %,d in %.1f s%n", o.keys, PRELOAD_BALANCE,
                (System.nanoTime() - t0) / 1e9);
    }

    static final int PRELOAD_WRITES = 500;
    static final long PRELOAD_BALANCE = 1_000_000_000L;

    /** Blind writes of the preload balance to keys {@code from} (inclusive) to {@code to} (exclusive). */
    static String accountsBody(int from, int to) {
        StringBuilder sb = new StringBuilder("{\"reads\":[],\"writes\":[");
        for (int i = from; i < to; i++) {
            sb.append(i == from ? "" : ",").append("{\"key\":\"").append(key(i)).append("\",\"value\":").append(PRELOAD_BALANCE)
                    .append('}');
        }
        return sb.append("]}").toString();
    }

    private void printCommit(Report r, Phase p) {
        System.out.printf(Locale.ROOT, "  commit: %,.0f txn/s committed (%,d in %.1f s), aborted %,d (%.2f %%), unavailable %,d, "
                        + "errors %,d%n",
                r.commitTps, r.committed, r.commitSeconds, r.aborted, 100 * r.abortRate(), r.unavailable, r.errors);
        System.out.printf(Locale.ROOT, "          commit (POST) latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; "
                        + "whole transaction (%s) p50 %.2f ms, p99 %.2f ms%n",
                r.commitP50, r.commitP90, r.commitP99, r.commitMax, switch (o.reads) {
                    case GET -> "2 GETs + POST";
                    case BATCH -> "batch read + POST";
                    case NONE -> "blind writes, POST only";
                    case PROCEDURE -> "transfer procedure, POST only";
                }, r.txnP50, r.txnP99);
        System.out.printf(Locale.ROOT, "          HTTP requests during the phase: %,.0f/s; CPU: client %.2f cores, machine %s, "
                        + "coordinator %s cores%n",
                r.commitPhaseHttpRps, r.clientCpuCommit, cores(r.machineCpuCommit), ResultLine.opt(r.coordinatorCpuCores, "%.2f"));
        System.out.printf(Locale.ROOT, "          coordinator: %s txns and %s bytes per log message, publish-to-ack mean %s ms, "
                        + "%s GC pauses (%s ms); heap after GC %s MB (used %s MB, live data %s MB)%n",
                ResultLine.opt(r.meanBatchTxns, "%.1f"), ResultLine.opt(r.meanBatchBytes, "%,.0f"), ResultLine.opt(r.meanPublishMs, "%.2f"),
                ResultLine.opt(r.gcPauses, "%.0f"), ResultLine.opt(r.gcPauseMs, "%.0f"), ResultLine.opt(r.heapAfterGcMb, "%.1f"), ResultLine.opt(r.heapUsedMb, "%.1f"),
                ResultLine.opt(r.liveDataMb, "%.1f"));
        System.out.printf(Locale.ROOT, "          coordinator per committed transaction: %s µs CPU, %s KB allocated%n",
                ResultLine.opt(r.coordinatorCpuUsPerCommit, "%.0f"), ResultLine.opt(r.coordinatorAllocKbPerCommit, "%.1f"));
        if (r.mirrors) {
            System.out.printf(Locale.ROOT, "          replication lag (commit ack → visible at a mirror): p50 %s ms, p99 %s ms "
                            + "(%d samples, %d not visible within 10 s)%n",
                    ResultLine.opt(r.lagP50, "%.2f"), ResultLine.opt(r.lagP99, "%.2f"), r.lagSamples, r.lagTimeouts);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Raw JetStream

    /** The payload: one committed two-key read-modify-write, encoded as the coordinator would. */
    static byte[] realisticPayload() {
        long ts = System.currentTimeMillis() << 16;
        LogTxn txn = new LogTxn(ts, null, false, "coordinator",
                List.of(LogWrite.put("bench-k12345", "1234".getBytes(StandardCharsets.UTF_8)),
                        LogWrite.put("bench-k67890", "5678".getBytes(StandardCharsets.UTF_8))),
                Map.of("coordinator", ts), List.of("bench-k12345", "bench-k67890"));
        return new BatchCodec().encode(LogBatch.of("coordinator", System.currentTimeMillis(), 0, 123_456, List.of(txn)));
    }

    private void rawJetStream(Connection nats, Report r) throws Exception {
        int seconds = Math.min(o.seconds, 5);
        byte[] payload = realisticPayload();
        r.payloadBytes = payload.length;
        try (ScratchStream stream = ScratchStream.create(nats.jetStreamManagement())) {
            JetStream js = nats.jetStream();
            String subject = stream.subject();
            syncPublish(js, subject, payload, 1); // warm-up
            CpuClock cpu = CpuClock.now();
            LatencyLog sync = new LatencyLog();
            r.syncTps = syncPublish(js, subject, payload, seconds, sync) / (double) seconds;
            long[] sl = LatencyLog.sortedUnion(List.of(sync));
            r.syncP50 = LatencyLog.percentileMillis(sl, 0.50);
            r.syncP99 = LatencyLog.percentileMillis(sl, 0.99);
            System.out.printf(Locale.ROOT, "  JetStream sync publish (%d s, %d-byte payload, file storage, wait for each ack): "
                            + "%,.0f msg/s, p50 %.3f ms, p99 %.3f ms; machine %s%n",
                    seconds, payload.length, r.syncTps, r.syncP50, r.syncP99, cores(cpu.machineCores()));

            asyncPublish(js, subject, payload, 1); // warm-up
            cpu = CpuClock.now();
            r.asyncTps = asyncPublish(js, subject, payload, seconds) / (double) seconds;
            System.out.printf(Locale.ROOT, "  JetStream async publish (%d s, up to %d acks outstanding): %,.0f msg/s; machine %s%n",
                    seconds, o.jsWindow, r.asyncTps, cores(cpu.machineCores()));
        }
    }

    private static long syncPublish(JetStream js, String subject, byte[] payload, int seconds) throws Exception {
        return syncPublish(js, subject, payload, seconds, new LatencyLog());
    }

    private static long syncPublish(JetStream js, String subject, byte[] payload, int seconds, LatencyLog lat)
            throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        long n = 0;
        long t0 = System.nanoTime();
        while (t0 < end) {
            js.publish(subject, payload);
            long t1 = System.nanoTime();
            lat.add(t1 - t0);
            n++;
            t0 = t1;
        }
        return n;
    }

    /** Acks received within {@code seconds}, with up to {@code jsWindow} unacknowledged at any time. */
    private long asyncPublish(JetStream js, String subject, byte[] payload, int seconds) throws InterruptedException {
        Semaphore window = new Semaphore(o.jsWindow);
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        AtomicLong acked = new AtomicLong();
        AtomicLong failed = new AtomicLong();
        while (System.nanoTime() < end) {
            if (!window.tryAcquire(10, TimeUnit.MILLISECONDS)) {
                continue;
            }
            js.publishAsync(subject, payload).whenComplete((ack, err) -> {
                if (err == null && System.nanoTime() <= end) {
                    acked.incrementAndGet();
                } else if (err != null) {
                    failed.incrementAndGet();
                }
                window.release();
            });
        }
        if (!window.tryAcquire(o.jsWindow, 30, TimeUnit.SECONDS)) {
            throw new IllegalStateException("JetStream async publish: acks still outstanding 30 s after the end");
        }
        if (failed.get() > 0) {
            error("JetStream async publish: " + failed.get() + " publishes failed");
        }
        return acked.get();
    }
}
