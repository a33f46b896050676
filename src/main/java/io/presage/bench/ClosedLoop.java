package io.presage.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;

/**
 * A closed-loop load: {@code clients} independent loops, each with one operation in flight, each on its
 * own Vert.x context (one event-loop thread), so a client's counters and latency log need no locks. An
 * operation that completes counts as done with its latency; one that fails counts as an error (the
 * first error is kept for the report) and its client pauses 10 ms, so that a refused connection does
 * not spin. Operations that end after the run's end are not counted.
 */
final class ClosedLoop {

    /** One client's state; {@code rnd} is its own, seeded per client. */
    static final class Client {
        final int index;
        final SplittableRandom rnd;
        final Context context;
        long done;
        long errors;
        LatencyLog latency = new LatencyLog();
        /** Pacing: nanoseconds between this client's operations (0: none), and when the next may start. */
        long interval;
        long nextStart;
        /** The end of the current run ({@link System#nanoTime()}): operations finishing later are not counted. */
        volatile long end;

        Client(int index, Context context, long seed) {
            this.index = index;
            this.context = context;
            this.rnd = new SplittableRandom(seed);
        }

        /**
         * Whether an operation finishing now counts, as the run itself counts it: an op's own tallies
         * (what a reply said) must leave out what the run leaves out, or shares of them pass 0 or 1.
         */
        boolean inWindow() {
            return System.nanoTime() <= end;
        }
    }

    /** What one client does once; the future fails on anything that is not a success. */
    interface Op {
        Future<?> run(Client c);
    }

    /** Called on the main thread every second of a run with the seconds elapsed and operations done in that second. */
    interface Progress {
        void tick(int second, long doneInTheSecond);
    }

    record Result(long done, long errors, long[] latencies, double seconds, double clientCpu, double machineCpu,
                  String firstError) {
        double rate() {
            return done / seconds;
        }
    }

    private final Vertx vertx;
    private final List<Client> clients = new ArrayList<>();
    private final AtomicReference<String> firstError = new AtomicReference<>();

    ClosedLoop(Vertx vertx, int clients, long seed) {
        this.vertx = vertx;
        for (int i = 0; i < clients; i++) {
            // From a non-Vert.x thread each call makes a new context, round-robin over the event loops.
            this.clients.add(new Client(i, vertx.getOrCreateContext(), seed + i));
        }
    }

    /** Runs {@code op} in every client for {@code seconds}, each as fast as it can; {@code progress} may be null. */
    Result run(int seconds, Op op, Progress progress) throws InterruptedException {
        return run(seconds, op, progress, 0);
    }

    /**
     * As {@link #run(int, Op, Progress)}, but with {@code rate > 0} the clients together start at most
     * {@code rate} operations a second (each client one per {@code clients / rate} s; one that falls behind
     * catches up by at most one interval). Latency is measured from an operation's start, not its slot.
     */
    Result run(int seconds, Op op, Progress progress, double rate) throws InterruptedException {
        firstError.set(null);
        long interval = Pacing.interval(clients.size(), rate);
        for (Client c : clients) {
            c.done = 0;
            c.errors = 0;
            c.latency = new LatencyLog();
            c.interval = interval;
            c.nextStart = System.nanoTime();
        }
        long start = System.nanoTime();
        long end = start + TimeUnit.SECONDS.toNanos(seconds);
        for (Client c : clients) {
            c.end = end;
        }
        CountDownLatch finished = new CountDownLatch(clients.size());
        CpuClock cpu = CpuClock.now();
        for (Client c : clients) {
            c.context.runOnContext(v -> next(c, op, end, finished));
        }
        long last = 0;
        for (int s = 1; s <= seconds; s++) {
            long sleep = start + TimeUnit.SECONDS.toNanos(s) - System.nanoTime();
            if (sleep > 0) {
                TimeUnit.NANOSECONDS.sleep(sleep);
            }
            if (progress != null && s < seconds) {
                long done = 0;
                for (Client c : clients) {
                    done += c.done; // racy, for progress only
                }
                progress.tick(s, done - last);
                last = done;
            }
        }
        double clientCpu = cpu.processCores();
        double machineCpu = cpu.machineCores();
        if (!finished.await(BenchHttp.REQUEST_IDLE_TIMEOUT_MS + 5_000, TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException("requests still outstanding " + (BenchHttp.REQUEST_IDLE_TIMEOUT_MS / 1000 + 5)
                    + " s after the end of the run");
        }
        long done = 0;
        long errors = 0;
        List<LatencyLog> logs = new ArrayList<>();
        for (Client c : clients) {
            done += c.done;
            errors += c.errors;
            logs.add(c.latency);
        }
        return new Result(done, errors, LatencyLog.sortedUnion(logs), (end - start) / 1e9, clientCpu, machineCpu,
                firstError.get());
    }

    private void next(Client c, Op op, long end, CountDownLatch finished) {
        long t0 = System.nanoTime();
        if (t0 >= end) {
            finished.countDown();
            return;
        }
        if (c.interval > 0) {
            c.nextStart = Pacing.nextStart(c.nextStart, c.interval, t0);
            long wait = c.nextStart - t0;
            if (wait >= 1_000_000) {
                vertx.setTimer(wait / 1_000_000, id -> start(c, op, end, finished));
                return;
            }
        }
        start(c, op, end, finished);
    }

    private void start(Client c, Op op, long end, CountDownLatch finished) {
        long t0 = System.nanoTime();
        if (t0 >= end) {
            finished.countDown();
            return;
        }
        Future<?> f;
        try {
            f = op.run(c);
        } catch (RuntimeException e) {
            f = Future.failedFuture(e);
        }
        f.onComplete(ar -> {
            long t1 = System.nanoTime();
            if (ar.succeeded()) {
                if (t1 <= end) {
                    c.done++;
                    c.latency.add(t1 - t0);
                }
                next(c, op, end, finished);
            } else {
                c.errors++;
                firstError.compareAndSet(null, String.valueOf(ar.cause().getMessage()));
                vertx.setTimer(10, id -> next(c, op, end, finished));
            }
        });
    }
}
