package io.presage.certify;

import java.util.List;

/** The outcome of certifying one transaction. Immutable. */
public final class Decision {
    private final long timestamp;
    private final boolean adjusted;
    private final AbortReason reason;
    private final List<String> conflicts;

    private Decision(long timestamp, boolean adjusted, AbortReason reason, List<String> conflicts) {
        this.timestamp = timestamp;
        this.adjusted = adjusted;
        this.reason = reason;
        this.conflicts = conflicts;
    }

    public static Decision commit(long timestamp, boolean adjusted) {
        return new Decision(timestamp, adjusted, null, List.of());
    }

    public static Decision abort(AbortReason reason, List<String> conflicts) {
        return new Decision(0, false, reason, List.copyOf(conflicts));
    }

    public boolean committed() {
        return reason == null;
    }

    /** The commit timestamp (0 when aborted). */
    public long timestamp() {
        return timestamp;
    }

    /** True when the commit timestamp was placed in the past to avoid an abort. */
    public boolean adjusted() {
        return adjusted;
    }

    /** Why it aborted, or null when committed. */
    public AbortReason reason() {
        return reason;
    }

    /** The keys that conflicted (empty when committed). */
    public List<String> conflicts() {
        return conflicts;
    }

    @Override
    public String toString() {
        return committed()
                ? "COMMITTED@" + timestamp + (adjusted ? " (adjusted)" : "")
                : "ABORTED " + reason + " " + conflicts;
    }
}
