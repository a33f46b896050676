package io.presage.mirror;

/**
 * The first confidence model: the probability that a local answer is still the primary's current
 * version. A key with an update received but not applied yet is certainly not current (0). Otherwise
 * writes to the key are taken as a Poisson process with rate λ (its learned write rate), and the
 * answer is current if none happened in the S seconds the mirror's knowledge is behind:
 * {@code exp(-λ·S)}.
 */
public final class Confidence {
    private Confidence() {
    }

    public static double of(boolean pending, double writesPerSecond, double stalenessSeconds) {
        if (pending) {
            return 0.0;
        }
        double c = Math.exp(-Math.max(0, writesPerSecond) * Math.max(0, stalenessSeconds));
        return Double.isNaN(c) ? 0.0 : Math.min(1.0, Math.max(0.0, c));
    }
}
