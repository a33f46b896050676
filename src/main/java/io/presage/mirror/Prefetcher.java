package io.presage.mirror;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.ToDoubleBiFunction;

import io.presage.predict.PredictionScore;
import io.presage.predict.SessionTrail;
import io.presage.predict.Successors;

/**
 * The mirror's use of the prediction engine: every read that names its session teaches the model
 * which key followed which ({@link SessionTrail} → {@link Successors}); then the keys likely to be read
 * next are reconciled with the coordinator ahead of demand, so that their reads find them confirmed
 * ({@link Confirmations}) and are answered locally at a higher confidence.
 *
 * <p>Only when that can help (see the {@code io.presage.predict} package comment): while the mirror's
 * usual staleness S exceeds the round trip of its reconciliations plus a session's usual pause, and
 * only for a predicted key whose confidence is below the configured bar. A healthy mirror across data centres learns, but does not
 * prefetch: the log already tells it more than a round trip could. At most one prefetch per key is in
 * flight; concurrent ones share the reconcile batcher's requests with the readers'.
 */
final class Prefetcher {
    /** What the prefetcher asks of the mirror. */
    interface Mirror {
        /** S now, in milliseconds. */
        double staleMillis(long nowMillis);

        /** The reconciliations' round trip, in milliseconds (NaN before the first). */
        double reconcileRttMillis();
    }

    private final Successors model;
    private final SessionTrail sessions;
    private final PredictionScore score;
    private final Mirror mirror;
    /** Confidence of a key's local copy now, from what the mirror holds in memory (no store read). */
    private final ToDoubleBiFunction<String, Long> confidence;
    private final Function<List<String>, CompletableFuture<?>> reconcile;
    private final double minProbability;
    private final double belowConfidence;
    /** A prefetch under way: completes when its answer is in; sent at {@code sentMillis}. */
    record UnderWay(CompletableFuture<?> answer, long sentMillis) {
    }

    private final ConcurrentHashMap<String, UnderWay> inFlight = new ConcurrentHashMap<>();
    /** Moving average of the time between a session's consecutive reads, ms; NaN before the first. */
    private volatile double gapMillis = Double.NaN;
    /**
     * Moving average of S at session reads, ms. The gate uses it rather than S at the moment: a busy
     * mirror's S jumps for a few ms between pages, and prefetching on each jump cost a healthy loopback
     * mirror more than it gained (BENCHMARKS.md, "Prediction").
     */
    private volatile double staleMeanMillis = Double.NaN;
    private final LongAdder requests = new LongAdder();
    private final LongAdder prefetched = new LongAdder();
    private final LongAdder skippedHealthy = new LongAdder();

    Prefetcher(Successors model, SessionTrail sessions, PredictionScore score, Mirror mirror,
            ToDoubleBiFunction<String, Long> confidence, Function<List<String>, CompletableFuture<?>> reconcile,
            double minProbability, double belowConfidence) {
        this.model = model;
        this.sessions = sessions;
        this.score = score;
        this.mirror = mirror;
        this.confidence = confidence;
        this.reconcile = reconcile;
        this.minProbability = minProbability;
        this.belowConfidence = belowConfidence;
    }

    /** {@code session} reads {@code key} (called as the read arrives): learn, then maybe prefetch what follows. */
    void read(String session, String key, long nowMillis) {
        staleMeanMillis = movingAverage(staleMeanMillis, mirror.staleMillis(nowMillis), 0.1);
        SessionTrail.Step previous = sessions.advance(session, key, nowMillis);
        score.read(session, key, previous != null, nowMillis);
        if (previous != null) {
            model.observe(previous.key(), key, nowMillis);
            gapMillis = movingAverage(gapMillis, nowMillis - previous.atMillis(), 0.05);
        }
        List<Successors.Prediction> next = model.after(key, minProbability, nowMillis);
        if (next.isEmpty()) {
            return;
        }
        List<String> predicted = new ArrayList<>(next.size());
        for (Successors.Prediction p : next) {
            predicted.add(p.key());
        }
        score.predicted(session, predicted, nowMillis);
        if (!worthIt()) {
            skippedHealthy.increment();
            return;
        }
        List<String> keys = new ArrayList<>(next.size());
        UnderWay answer = new UnderWay(new CompletableFuture<>(), nowMillis);
        for (Successors.Prediction p : next) {
            if (confidence.applyAsDouble(p.key(), nowMillis) < belowConfidence && inFlight.putIfAbsent(p.key(), answer) == null) {
                keys.add(p.key());
            }
        }
        if (keys.isEmpty()) {
            return;
        }
        requests.increment();
        prefetched.add(keys.size());
        CompletableFuture<?> sent;
        try {
            sent = reconcile.apply(keys);
        } catch (RuntimeException e) {
            sent = CompletableFuture.failedFuture(e);
        }
        sent.whenComplete((r, e) -> {
            keys.forEach(k -> inFlight.remove(k, answer)); // failed: a later read may try again
            answer.answer().complete(null); // a read waiting for it looks again, whatever the outcome
        });
    }

    /** An exponential moving average: {@code sample} itself when there is none yet ({@code average} NaN). */
    static double movingAverage(double average, double sample, double weight) {
        return Double.isNaN(average) ? sample : average + weight * (sample - average);
    }

    /**
     * Whether a confirmation fetched now can still beat the log when the predicted read comes: it will
     * then be a round trip plus a session's usual pause between reads old, against the mirror's usual S.
     * Until the round trip has been measured, yes.
     */
    private boolean worthIt() {
        double rtt = mirror.reconcileRttMillis();
        double gap = gapMillis;
        if (Double.isNaN(rtt)) {
            return true;
        }
        return staleMeanMillis > rtt + (Double.isNaN(gap) ? 0 : gap);
    }

    /**
     * The prefetch of {@code key} under way, if any: a read that finds the key below its
     * {@code minConfidence} waits for it and looks again instead of asking the coordinator itself
     * (completes when the answer is in, successful or not).
     */
    UnderWay underWay(String key) {
        return inFlight.get(key);
    }

    /** Mean pause between a session's consecutive reads, ms (NaN before any). */
    double sessionGapMillis() {
        return gapMillis;
    }

    long requests() {
        return requests.sum();
    }

    /** Keys reconciled ahead of a predicted read. */
    long prefetched() {
        return prefetched.sum();
    }

    /** Predictions not acted on because the mirror's staleness was within a round trip. */
    long skippedHealthy() {
        return skippedHealthy.sum();
    }

    PredictionScore score() {
        return score;
    }

    Successors model() {
        return model;
    }

    SessionTrail sessions() {
        return sessions;
    }
}
