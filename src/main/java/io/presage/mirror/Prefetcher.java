package io.presage.mirror;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.ToDoubleBiFunction;

import io.presage.predict.PrefetchLedger;
import io.presage.predict.SessionTrail;
import io.presage.predict.Successors;

/**
 * The mirror's use of the prediction engine: every read that names its session teaches the model
 * which key followed which ({@link SessionTrail} → {@link Successors}); then the keys likely to be read
 * next are reconciled with the coordinator ahead of demand, so that their reads find them confirmed
 * ({@link Confirmations}) and are answered locally at a higher confidence.
 *
 * <p>Only when that can help (see the {@code io.presage.predict} package comment): while the mirror's
 * staleness S exceeds the round trip of its reconciliations, and only for a predicted key whose
 * confidence is below the configured bar. A healthy mirror across data centres learns, but does not
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
    private final PrefetchLedger ledger;
    private final Mirror mirror;
    /** Confidence of a key's local copy now, from what the mirror holds in memory (no store read). */
    private final ToDoubleBiFunction<String, Long> confidence;
    private final Function<List<String>, CompletableFuture<?>> reconcile;
    private final double minProbability;
    private final double belowConfidence;
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private final LongAdder requests = new LongAdder();
    private final LongAdder skippedHealthy = new LongAdder();

    Prefetcher(Successors model, SessionTrail sessions, PrefetchLedger ledger, Mirror mirror,
            ToDoubleBiFunction<String, Long> confidence, Function<List<String>, CompletableFuture<?>> reconcile,
            double minProbability, double belowConfidence) {
        this.model = model;
        this.sessions = sessions;
        this.ledger = ledger;
        this.mirror = mirror;
        this.confidence = confidence;
        this.reconcile = reconcile;
        this.minProbability = minProbability;
        this.belowConfidence = belowConfidence;
    }

    /** {@code session} has just been answered a read of {@code key}: learn, then maybe prefetch what follows. */
    void read(String session, String key, long nowMillis) {
        ledger.read(key, nowMillis);
        String previous = sessions.advance(session, key, nowMillis);
        if (previous != null) {
            model.observe(previous, key, nowMillis);
        }
        List<Successors.Prediction> next = model.after(key, minProbability, nowMillis);
        if (next.isEmpty()) {
            return;
        }
        double rtt = mirror.reconcileRttMillis();
        if (!Double.isNaN(rtt) && mirror.staleMillis(nowMillis) <= rtt) {
            skippedHealthy.increment(); // a confirmation would be older than what the log vouches for
            return;
        }
        List<String> keys = new ArrayList<>(next.size());
        for (Successors.Prediction p : next) {
            if (confidence.applyAsDouble(p.key(), nowMillis) < belowConfidence && inFlight.add(p.key())) {
                keys.add(p.key());
                ledger.prefetched(p.key(), nowMillis);
            }
        }
        if (keys.isEmpty()) {
            return;
        }
        requests.increment();
        CompletableFuture<?> answer;
        try {
            answer = reconcile.apply(keys);
        } catch (RuntimeException e) {
            answer = CompletableFuture.failedFuture(e);
        }
        answer.whenComplete((r, e) -> inFlight.removeAll(keys)); // failed: a later read may try again
    }

    long requests() {
        return requests.sum();
    }

    /** Predictions not acted on because the mirror's staleness was within a round trip. */
    long skippedHealthy() {
        return skippedHealthy.sum();
    }

    PrefetchLedger ledger() {
        return ledger;
    }

    Successors model() {
        return model;
    }

    SessionTrail sessions() {
        return sessions;
    }
}
