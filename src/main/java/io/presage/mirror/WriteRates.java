package io.presage.mirror;

import java.util.concurrent.ConcurrentHashMap;

import io.presage.apply.Eviction;

/**
 * Exponentially decayed write rates, per key and overall, learned from the applied log.
 *
 * <p>A rate is {@code Σ exp(-(t - tᵢ)/τ) / τ} over the writes at times {@code tᵢ} (writes per
 * second): a key written every {@code P} seconds (with {@code P ≪ τ}) converges to {@code 1/P}, a key
 * not written for a few {@code τ} decays towards 0, and {@link #rate} adds a floor under every key. It
 * is kept as (value, time of last update) and decayed on read, so neither a write nor a read touches
 * more than one entry. Per-key entries are bounded; an evicted key falls back to the prior (see
 * {@link #rate}).
 *
 * <p>Written by the applier thread only; read by any thread. Entries are immutable and replaced, so a
 * reader never sees a value paired with the wrong time.
 */
public final class WriteRates {
    /** {@code firstMillis}: commit time of the first write of this key (or of any key) this node saw. */
    private record Rate(double perSecond, long atMillis, long firstMillis) {
        double at(long nowMillis, double tauMillis) {
            long dt = nowMillis - atMillis;
            return dt <= 0 ? perSecond : perSecond * Math.exp(-dt / tauMillis);
        }
    }

    /** Weight of the average key's rate in a known key's rate. */
    static final double PRIOR_WEIGHT = 0.1;

    private final double tauMillis;
    private final double bump;
    private final int maxKeys;
    private final ConcurrentHashMap<String, Rate> keys = new ConcurrentHashMap<>();
    private volatile Rate global;

    /** @param halfLifeMillis how long until a write counts half as much */
    public WriteRates(long halfLifeMillis, int maxKeys) {
        this.tauMillis = halfLifeMillis / Math.log(2);
        this.bump = 1000.0 / tauMillis;
        this.maxKeys = maxKeys;
    }

    /** One applied write of {@code key}, committed at {@code atMillis}. */
    public void written(String key, long atMillis) {
        Rate r = keys.get(key);
        if (r == null && keys.size() >= maxKeys) {
            // The least written go: an evicted key falls back to the average rate, which for a quiet
            // key errs towards less confidence. In hash order, hot keys went too, and for a while after
            // their next write read as a fraction of their rate: confidence near 1 where it was near 0.
            Eviction.lowest(keys, maxKeys, v -> v.at(atMillis, tauMillis));
        }
        keys.put(key, bumped(r, atMillis));
        global = bumped(global, atMillis);
    }

    private Rate bumped(Rate r, long atMillis) {
        if (r == null) {
            return new Rate(bump, atMillis, atMillis);
        }
        long at = Math.max(atMillis, r.atMillis); // message timestamps may tie; never decay backwards
        return new Rate(r.at(at, tauMillis) + bump, at, Math.min(r.firstMillis, atMillis));
    }

    /**
     * The key's write rate now, in writes per second. A key with a history of its own: its decayed rate
     * plus a small share ({@value #PRIOR_WEIGHT}) of the average key's, so that a key written rarely
     * while the data set is busy is not taken as certainly quiet. A key without one (never written since
     * this node started, or evicted): the average key's rate, the overall rate spread over the keys seen.
     * Either way plus a floor of {@value #PRIOR_WEIGHT} × one write per τ, however quiet the log has been.
     */
    public double rate(String key, long nowMillis) {
        if (global == null) {
            // No write seen since this node started: nothing known of the rates. Taken as zero, every
            // confidence was exactly 1 however stale the mirror (a mirror started while NATS is
            // unreachable served everything as certain); one write per τ still lets it fall with S.
            return priorPerSecond();
        }
        Rate r = keys.get(key);
        double average = globalRate(nowMillis) / Math.max(1, keys.size());
        double learned = r == null ? average : unbiased(r, nowMillis) + PRIOR_WEIGHT * average;
        // And a share of the prior under every key: a few τ without writes decayed the rates to nothing,
        // and a mirror that then lost its log answered every key with confidence 1.0 however long it stayed
        // blind (after an hour's quiet, 0.99999999999997 ten hours blind). A quiet spell says little of what
        // the hours after it hold. Per key, not spread over the keys: spread over 10,000 it left 0.996 after
        // ten hours blind. It costs a caught-up mirror little (S of 50 ms: 0.99994 at most).
        return learned + PRIOR_WEIGHT * priorPerSecond();
    }

    /**
     * The key's rate as a mirror whose knowledge of the log ends {@code staleSeconds} before
     * {@code nowMillis} can know it: taken at that horizon. The time after it holds writes the mirror
     * has not seen, not evidence of quiet; decayed through it, a mirror 20 minutes behind a key written
     * every second took its rate for nearly 0 and answered it with confidence 0.999.
     */
    public double rateKnown(String key, long nowMillis, double staleSeconds) {
        return rate(key, nowMillis - (long) Math.ceil(Math.max(0, staleSeconds) * 1000));
    }

    /** One write per τ: each key's rate before any write is seen; a {@value #PRIOR_WEIGHT} share of it after. */
    private double priorPerSecond() {
        return 1000.0 / tauMillis;
    }

    /** Whether any write has been learned since this node started: until then {@link #rate} is only a prior. */
    public boolean learnedAny() {
        return global != null;
    }

    /** All writes per second, decayed. */
    public double globalRate(long nowMillis) {
        Rate g = global;
        return g == null ? 0 : unbiased(g, nowMillis);
    }

    private double unbiased(Rate r, long nowMillis) {
        return r.at(nowMillis, tauMillis) / warmUp(r.firstMillis, nowMillis);
    }

    /**
     * The share of a steady rate the decayed sum has reached after observing for {@code T} since
     * {@code firstMillis}: {@code 1 − exp(−T/τ)}. Dividing by it removes the start-up bias (as Adam's
     * moment estimates do): without it, a key written 15 times a second read as 3 a second for the
     * first 20 s after a start (τ ≈ 87 s), and confidence was far too high exactly then. T is at least
     * 1 s, so the first writes are not taken as an infinite rate.
     *
     * <p>Per key, T runs from the key's own first write seen here, not the node's: a mirror that has
     * just caught up with an old log (a benchmark's, an hour before) saw its first write an hour ago,
     * so with the node's T a key whose writes began a few seconds ago read at a fifth of its rate
     * (measured in the demo after a benchmark: reads given ≥ 0.99 found current 85 % of the time). A key
     * seen for the first time reads as about one write per the time since then: high for a rarely
     * written key, for a few seconds, which errs towards less confidence, never more.
     */
    private double warmUp(long firstMillis, long nowMillis) {
        double observed = Math.max(1000, nowMillis - firstMillis);
        return -Math.expm1(-observed / tauMillis);
    }

    public int trackedKeys() {
        return keys.size();
    }
}
