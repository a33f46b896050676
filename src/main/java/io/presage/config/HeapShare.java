package io.presage.config;

import java.util.Optional;

import io.quarkus.runtime.configuration.MemorySize;

/** The memory budgets that default to a share of the heap (read cache, unapplied commits). */
public final class HeapShare {
    private HeapShare() {
    }

    /** The configured size, or a quarter of the maximum heap when none is set. */
    public static long orQuarterOfHeap(Optional<MemorySize> configured) {
        return configured.map(MemorySize::asLongValue).orElseGet(() -> Runtime.getRuntime().maxMemory() / 4);
    }
}
