package io.presage.certify;

/**
 * Certification settings; every one maps to a {@code presage.certification.*} property.
 *
 * @param policy          adaptive (timestamp history) or basic
 * @param historyDepth    k, the write timestamps kept per key (≥ 1)
 * @param windowKeys      keys whose exact metadata is kept per partition; older ones fold into the floors
 * @param floorBuckets    per-partition buckets of low-water marks standing in for evicted keys (power of two)
 * @param partitions      how many partitions keys hash to
 * @param adjustedWindow  how many adjusted timestamps are remembered to keep them unique
 */
public record CertifierConfig(Policy policy, int historyDepth, int windowKeys, int floorBuckets,
                              int partitions, int adjustedWindow) {

    public static final CertifierConfig DEFAULT =
            new CertifierConfig(Policy.ADAPTIVE, 8, 1 << 20, 1 << 21, 1, 65_536);

    public CertifierConfig {
        if (policy == null) {
            throw new IllegalArgumentException("policy is required");
        }
        if (historyDepth < 1 || historyDepth > 1024) {
            throw new IllegalArgumentException("historyDepth must be in 1..1024, was " + historyDepth);
        }
        if (windowKeys < 1) {
            throw new IllegalArgumentException("windowKeys must be positive, was " + windowKeys);
        }
        if (floorBuckets < 1 || Integer.bitCount(floorBuckets) != 1) {
            throw new IllegalArgumentException("floorBuckets must be a power of two, was " + floorBuckets);
        }
        if (partitions < 1 || partitions > 1024) {
            throw new IllegalArgumentException("partitions must be in 1..1024, was " + partitions);
        }
        if (adjustedWindow < 1) {
            throw new IllegalArgumentException("adjustedWindow must be positive, was " + adjustedWindow);
        }
    }

    public CertifierConfig withPolicy(Policy p) {
        return new CertifierConfig(p, historyDepth, windowKeys, floorBuckets, partitions, adjustedWindow);
    }

    public CertifierConfig withPartitions(int n) {
        return new CertifierConfig(policy, historyDepth, windowKeys, floorBuckets, n, adjustedWindow);
    }

    public CertifierConfig withHistoryDepth(int k) {
        return new CertifierConfig(policy, k, windowKeys, floorBuckets, partitions, adjustedWindow);
    }

    public CertifierConfig withWindow(int keys, int buckets) {
        return new CertifierConfig(policy, historyDepth, keys, buckets, partitions, adjustedWindow);
    }
}
