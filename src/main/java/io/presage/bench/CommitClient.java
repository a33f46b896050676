package io.presage.bench;

import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import io.presage.bench.CommitWorkload.Item;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;

/**
 * One closed-loop client. Everything it does runs on its own Vert.x context (one event-loop
 * thread), so its counters and latency logs need no synchronisation; the main thread reads them
 * after the run's latch (and, racily but harmlessly, for progress lines).
 */
final class CommitClient {

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

    private final CommitBench.Options o;
    private final Vertx vertx;
    private final BenchHttp http;
    private final LagProbes lag;
    /** Where failures go (the bench reports the first). */
    private final Consumer<String> failures;
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

    CommitClient(CommitBench.Options o, Vertx vertx, BenchHttp http, LagProbes lag, Consumer<String> failures, Context context,
                 long seed) {
        this.o = o;
        this.vertx = vertx;
        this.http = http;
        this.lag = lag;
        this.failures = failures;
        this.context = context;
        this.rnd = new SplittableRandom(seed);
        this.idPrefix = "bench-" + CommitBench.RUN_ID + "-" + Long.toString(seed, 36) + "-";
    }

    /** A fresh idempotency id with --ids, else null. */
    private String nextId() {
        return o.ids() ? idPrefix + (++idCount) : null;
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
        if (work == Work.COMMIT && o.rate() > 0) {
            // Open-loop pacing: the clients together start o.rate() transactions a second, so a
            // measurement (replication lag) can be taken at a chosen share of the maximum rate.
            long now = System.nanoTime();
            long interval = Pacing.interval(o.clients(), o.rate());
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
                failures.accept(ar.cause().toString());
                // A refused connection fails at once: do not spin.
                vertx.setTimer(10, id -> next(run, work));
            }
        });
    }

    private Future<Void> ping(Run run) {
        long t0 = System.nanoTime();
        return http.call(HttpMethod.GET, o.url(), "/v1/ping", null).map(r -> {
            long t1 = System.nanoTime();
            if (t1 > run.end) {
                return null;
            }
            if (r.status() == 200) {
                ops++;
                latency.add(t1 - t0);
            } else {
                errors++;
                failures.accept("GET /v1/ping: " + r.status() + " " + r.text());
            }
            return null;
        });
    }

    private Future<Void> transaction(Run run) {
        int a = rnd.nextInt(o.keys());
        int b = rnd.nextInt(o.keys() - 1);
        b = b >= a ? b + 1 : b; // distinct, uniform
        String ka = CommitWorkload.key(a);
        String kb = CommitWorkload.key(b);
        long t0 = System.nanoTime();
        String id = nextId();
        if (o.reads() == CommitBench.Reads.PROCEDURE) {
            Buffer body = Buffer.buffer("{\"from\":\"" + ka + "\",\"to\":\"" + kb + "\",\"amount\":1}");
            String path = "/v1/procedures/transfer" + (id == null ? "" : "?id=" + id);
            return http.call(HttpMethod.POST, o.url(), path, body)
                    .map(r -> counted(run, r, "POST /v1/procedures/transfer", ka, t0, t0));
        }
        return reads(ka, kb).compose(items -> {
            Buffer body = Buffer.buffer(CommitWorkload.transactionBody(ka, items[0], kb, items[1], o.reads() != CommitBench.Reads.NONE, id));
            long t1 = System.nanoTime();
            return http.call(HttpMethod.POST, o.url(), "/v1/transactions", body)
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
            case 503, 504 -> { // 504: the outcome was not known in time
                unavailable++;
                failures.accept(what + ": " + r.status() + " " + r.text());
            }
            default -> {
                errors++;
                failures.accept(what + ": " + r.status() + " " + r.text());
            }
        }
        return null;
    }

    /** What the transaction reads of its two keys (nothing, for blind writes: versions 0, numbers random). */
    private Future<Item[]> reads(String ka, String kb) {
        return switch (o.reads()) {
            case GET -> read(ka).compose(ra -> read(kb).map(rb -> new Item[] {ra, rb}));
            case BATCH -> readBatch(ka, kb);
            case NONE -> Future.succeededFuture(new Item[] {new Item(0, rnd.nextInt(1_000_000)),
                new Item(0, rnd.nextInt(1_000_000))});
            case PROCEDURE -> throw new IllegalStateException("a procedure reads at the coordinator");
        };
    }

    private Future<Item[]> readBatch(String ka, String kb) {
        Buffer body = Buffer.buffer("{\"keys\":[\"" + ka + "\",\"" + kb + "\"]}");
        return http.call(HttpMethod.POST, o.url(), "/v1/kv/_batch", body).compose(r -> {
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
        return http.call(HttpMethod.GET, o.url(), "/v1/kv/" + key, null).compose(r -> {
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
