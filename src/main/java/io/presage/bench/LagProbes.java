package io.presage.bench;

import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;

/**
 * Replication lag, commit acknowledged → visible in a mirror read: for at most one commit every
 * {@code sampleEveryNanos} and {@link #MAX_PROBES} at a time, polls
 * {@code GET /v1/kv/{key}?consistency=predictive} at the next mirror (round-robin) every millisecond
 * until it shows the committed version (the commit's {@code timestamp}) or a later one. A key's versions
 * only grow, so "or later" is still "the commit is visible". Thread-safe: commits are reported from
 * any event loop.
 */
final class LagProbes {
    static final int MAX_PROBES = 16;
    static final long GIVE_UP_NANOS = TimeUnit.SECONDS.toNanos(10);

    private final Vertx vertx;
    private final BenchHttp http;
    private final List<URI> mirrors;
    private final long sampleEveryNanos;
    private final AtomicLong nextSample = new AtomicLong();
    private final AtomicInteger inflight = new AtomicInteger();
    private final AtomicInteger nextMirror = new AtomicInteger();
    private final AtomicLong timeouts = new AtomicLong();
    private final Map<URI, LatencyLog> lags = new LinkedHashMap<>(); // each log guarded by itself

    LagProbes(Vertx vertx, List<URI> mirrors, long sampleEveryNanos) {
        this.vertx = vertx;
        this.mirrors = List.copyOf(mirrors);
        this.sampleEveryNanos = sampleEveryNanos;
        this.http = mirrors.isEmpty() ? null : new BenchHttp(vertx, MAX_PROBES);
        for (URI m : mirrors) {
            lags.put(m, new LatencyLog());
        }
    }

    List<URI> mirrors() {
        return mirrors;
    }

    /** A commit of {@code key} was acknowledged at {@code ackNanos} with this answer: maybe measure it. */
    void maybeProbe(String key, byte[] commitReply, long ackNanos) {
        long due = nextSample.get();
        if (mirrors.isEmpty() || ackNanos < due || !nextSample.compareAndSet(due, ackNanos + sampleEveryNanos)) {
            return;
        }
        if (inflight.incrementAndGet() > MAX_PROBES) {
            inflight.decrementAndGet();
            return;
        }
        OptionalLong version = JsonFields.topLevelLong(commitReply, "timestamp");
        if (version.isEmpty()) {
            inflight.decrementAndGet();
            return;
        }
        URI mirror = mirrors.get(Math.floorMod(nextMirror.getAndIncrement(), mirrors.size()));
        poll(mirror, key, version.getAsLong(), ackNanos);
    }

    private void poll(URI mirror, String key, long version, long ackNanos) {
        http.call(HttpMethod.GET, mirror, "/v1/kv/" + key + "?consistency=predictive", null).onComplete(ar -> {
            long now = System.nanoTime();
            boolean visible = false;
            if (ar.succeeded() && ar.result().status() == 200) {
                OptionalLong v = JsonFields.topLevelLong(ar.result().body().getBytes(), "version");
                visible = v.isPresent() && v.getAsLong() >= version;
            }
            if (visible) {
                LatencyLog log = lags.get(mirror);
                synchronized (log) {
                    log.add(now - ackNanos);
                }
                inflight.decrementAndGet();
            } else if (now - ackNanos > GIVE_UP_NANOS) {
                timeouts.incrementAndGet();
                inflight.decrementAndGet();
            } else {
                vertx.setTimer(1, id -> poll(mirror, key, version, ackNanos));
            }
        });
    }

    /** Waits for the probes under way (each gives up after 10 s). */
    void awaitProbes() throws InterruptedException {
        long deadline = System.nanoTime() + GIVE_UP_NANOS + TimeUnit.SECONDS.toNanos(2);
        while (inflight.get() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
    }

    /** Every mirror's lags, sorted, in nanoseconds. */
    long[] sorted() {
        return LatencyLog.sortedUnion(mirrors.stream().map(this::copy).toList());
    }

    /** One mirror's lags, sorted, in nanoseconds. */
    long[] sorted(URI mirror) {
        return LatencyLog.sortedUnion(List.of(copy(mirror)));
    }

    private LatencyLog copy(URI mirror) {
        LatencyLog log = lags.get(mirror);
        LatencyLog c = new LatencyLog();
        synchronized (log) {
            for (long v : LatencyLog.sortedUnion(List.of(log))) {
                c.add(v);
            }
        }
        return c;
    }

    /** Commits not visible at their mirror within 10 s. */
    long timeouts() {
        return timeouts.get();
    }
}
