package io.presage.testing;

import io.presage.config.Limits;

/** The default request limits ({@code presage.limits.*}), for code under test outside Quarkus. */
public record TestLimits(int keyBytes, int valueBytes, int txnKeys, int txnBytes, int batchKeys) implements Limits {

    @Override
    public long batchBytes() {
        return 32L << 20;
    }

    public static Limits defaults() {
        return new TestLimits(512, 1 << 20, 1000, 1 << 23, 1000);
    }
}
