package io.presage.certify;

/**
 * Counters of certification outcomes. Written by the certifier's single thread, read by anyone
 * (metrics, benchmarks) without locking; a reader may see a value a moment old.
 */
public final class CertifierStats {
    // Plain fields: a volatile store per commit would cost the hot path a fence; readers are
    // metrics and benchmarks, which tolerate a slightly stale value.
    private long committed;
    private long adjusted;
    private final long[] aborted = new long[AbortReason.values().length];

    void count(Decision d) {
        if (d.committed()) {
            committed++;
            if (d.adjusted()) {
                adjusted++;
            }
        } else {
            aborted[d.reason().ordinal()]++;
        }
    }

    public long committed() {
        return committed;
    }

    public long adjusted() {
        return adjusted;
    }

    public long aborted(AbortReason r) {
        return aborted[r.ordinal()];
    }

    public long aborted() {
        long n = 0;
        for (long a : aborted) {
            n += a;
        }
        return n;
    }
}
