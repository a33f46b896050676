package io.presage.predict;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

import io.presage.apply.Eviction;

/**
 * Which key tends to be read next after which: a first-order Markov model of sessions' reads, learned
 * online with exponential decay.
 *
 * <p>Per key {@code a}, a row of at most {@code slots} successors with decayed weights, and the decayed
 * total of every transition out of {@code a}. {@code P(b | a)} is {@code weight(b) / total}. A
 * successor not in the row takes the slot of the lightest one; the total keeps counting everything, so
 * the evicted key's history is lost but never credited to another: a probability is never higher than
 * the share the key really had (decayed). The property tests check exactly that, and equality while a
 * row has room.
 *
 * <p>Decay is lazy (a row is brought to the present when it is touched) and uniform within a row, so it
 * only changes the ratios through new observations: recent habits outweigh old ones with half-life
 * {@code halfLifeMillis}.
 *
 * <p>Thread-safe: rows are guarded by themselves (one row per key, touched by the reads of that key),
 * the map is concurrent. Bounded: at most {@code maxKeys} rows; when full, a sixteenth is dropped.
 */
public final class Successors {

    /** A predicted next key and its estimated probability. */
    public record Prediction(String key, double probability) {
    }

    private static final class Row {
        final String[] keys;
        final double[] weights;
        double total;
        long atMillis;

        Row(int slots, long atMillis) {
            keys = new String[slots];
            weights = new double[slots];
            this.atMillis = atMillis;
        }

        void decayTo(long nowMillis, double tauMillis) {
            long dt = nowMillis - atMillis;
            if (dt <= 0) {
                return;
            }
            double f = Math.exp(-dt / tauMillis);
            total *= f;
            for (int i = 0; i < weights.length; i++) {
                weights[i] *= f;
            }
            atMillis = nowMillis;
        }
    }

    private final double tauMillis;
    private final int slots;
    private final int maxKeys;
    private final double minEvidence;
    private final ConcurrentHashMap<String, Row> rows = new ConcurrentHashMap<>();

    /**
     * @param halfLifeMillis how long until an observed transition counts half
     * @param slots successors kept per key
     * @param maxKeys keys with a row
     * @param minEvidence decayed transitions out of a key needed before it predicts anything, so that
     *     one observation is not taken as a habit
     */
    public Successors(long halfLifeMillis, int slots, int maxKeys, double minEvidence) {
        if (halfLifeMillis <= 0 || slots <= 0 || maxKeys <= 0) {
            throw new IllegalArgumentException("half-life, slots and keys must be positive");
        }
        this.tauMillis = halfLifeMillis / Math.log(2);
        this.slots = slots;
        this.maxKeys = maxKeys;
        this.minEvidence = minEvidence;
    }

    /** A session read {@code to} right after {@code from}. */
    public void observe(String from, String to, long nowMillis) {
        Row r = rows.get(from);
        if (r == null) {
            if (rows.size() >= maxKeys) {
                Eviction.sixteenth(rows, maxKeys);
            }
            r = rows.computeIfAbsent(from, k -> new Row(slots, nowMillis));
        }
        synchronized (r) {
            r.decayTo(nowMillis, tauMillis);
            r.total += 1;
            int free = -1;
            int lightest = 0;
            for (int i = 0; i < r.keys.length; i++) {
                if (r.keys[i] == null) {
                    free = free < 0 ? i : free;
                } else if (to.equals(r.keys[i])) {
                    r.weights[i] += 1;
                    return;
                } else if (r.weights[i] < r.weights[lightest]) {
                    lightest = i;
                }
            }
            int slot = free >= 0 ? free : lightest;
            r.keys[slot] = to;
            r.weights[slot] = 1;
        }
    }

    /** {@code P(to | from)} as the model has it now; 0 for a successor it does not hold. */
    public double probability(String from, String to, long nowMillis) {
        Row r = rows.get(from);
        if (r == null) {
            return 0;
        }
        synchronized (r) {
            for (int i = 0; i < r.keys.length; i++) {
                if (to.equals(r.keys[i])) {
                    return r.weights[i] / r.total;
                }
            }
        }
        return 0;
    }

    /**
     * The keys likely to be read right after {@code key}: those with {@code P ≥ minProbability}, most
     * likely first; none while fewer than {@code minEvidence} (decayed) transitions out of it were seen.
     */
    public List<Prediction> after(String key, double minProbability, long nowMillis) {
        Row r = rows.get(key);
        if (r == null) {
            return List.of();
        }
        List<Prediction> out = new ArrayList<>(2);
        synchronized (r) {
            r.decayTo(nowMillis, tauMillis);
            if (r.total < minEvidence) {
                return List.of();
            }
            for (int i = 0; i < r.keys.length; i++) {
                double p = r.weights[i] / r.total;
                if (r.keys[i] != null && p >= minProbability) {
                    out.add(new Prediction(r.keys[i], p));
                }
            }
        }
        out.sort((x, y) -> Double.compare(y.probability(), x.probability()));
        return out;
    }

    /** Keys with a row. */
    public int keys() {
        return rows.size();
    }
}
