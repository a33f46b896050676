package io.presage.bench;

import java.util.SplittableRandom;

/**
 * Key ranks drawn with a Zipf distribution of parameter θ over {@code n} items, scrambled so that hot
 * keys are spread over the key space (and so over partitions), as YCSB's scrambled Zipfian
 * generator does (Gray et al., "Quickly generating billion-record synthetic databases"). θ = 0 is
 * uniform.
 */
public final class ZipfKeys {
    private final int n;
    private final double theta;
    private final double zetan;
    private final double alpha;
    private final double eta;
    private final double half;

    public ZipfKeys(int n, double theta) {
        if (n < 2) {
            throw new IllegalArgumentException("need at least 2 keys");
        }
        if (theta < 0 || theta >= 1) {
            throw new IllegalArgumentException("zipf θ must be in [0, 1), was " + theta);
        }
        this.n = n;
        this.theta = theta;
        double z = 0;
        if (theta > 0) {
            for (int i = 1; i <= n; i++) {
                z += 1.0 / Math.pow(i, theta);
            }
        }
        this.zetan = z;
        double zeta2 = 1 + Math.pow(0.5, theta);
        this.alpha = 1.0 / (1.0 - theta);
        this.eta = theta > 0 ? (1 - Math.pow(2.0 / n, 1 - theta)) / (1 - zeta2 / zetan) : 1;
        this.half = Math.pow(0.5, theta);
    }

    /** A key index in {@code [0, n)}. */
    public int next(SplittableRandom rnd) {
        if (theta == 0) {
            return rnd.nextInt(n);
        }
        return scramble(rank(rnd.nextDouble()));
    }

    private long rank(double u) {
        double uz = u * zetan;
        if (uz < 1.0) {
            return 0;
        }
        if (uz < 1.0 + half) {
            return 1;
        }
        return (long) (n * Math.pow(eta * u - eta + 1, alpha));
    }

    private int scramble(long rank) {
        // FNV-1a 64 of the rank, as YCSB does: the hottest ranks land on unrelated keys.
        long h = 0xCBF29CE484222325L;
        for (int i = 0; i < 8; i++) {
            h ^= (rank >>> (i * 8)) & 0xFF;
            h *= 0x100000001B3L;
        }
        return (int) Math.floorMod(h, (long) n);
    }
}
