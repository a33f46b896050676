package io.presage.speculate;

import java.util.List;
import java.util.concurrent.CompletableFuture;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One speculative transaction. Its driver ({@link Speculator}) moves it through its states one step
 * at a time, never two steps at once; readers see an immutable {@link View} published through a
 * volatile field.
 */
public final class Speculation {

    public enum Status {
        SPECULATIVE, COMMITTED, ROLLED_BACK, REEXECUTED;

        public boolean finished() {
            return this != SPECULATIVE;
        }
    }

    /**
     * What a client is told. {@code speculativeResult}: what the 202 answered (null for a plain
     * transaction, or when the procedure refused on local data); {@code result}: the result of the
     * attempt that committed. {@code attempts}: attempts submitted. {@code timestamp}, {@code adjusted},
     * {@code sequence}: of the commit, once committed (0, false, 0 before); {@code stream}: the log stream the
     * coordinator's token named for it (0: not known, as for an outcome read back from the store). {@code reason},
     * {@code conflicts}: why it was rolled back. {@code message}: the latest thing worth saying (why it
     * is waiting, why it was rolled back).
     */
    public record View(String id, Status status, JsonNode speculativeResult, JsonNode result, int attempts,
            long timestamp, boolean adjusted, long sequence, long stream, String reason, List<String> conflicts, String message) {

        View with(Status s, String why) {
            return new View(id, s, speculativeResult, result, attempts, timestamp, adjusted, sequence, stream, reason, conflicts, why);
        }
    }

    private final String id;
    private volatile View view;
    private volatile long finishedMillis;
    private final CompletableFuture<Void> setUp = new CompletableFuture<>();
    /** What it is counted for in its table's byte budget while undecided, -1 once released ({@link SpeculationTable}). */
    private volatile long bytes;

    public Speculation(String id) {
        this.id = id;
        this.view = new View(id, Status.SPECULATIVE, null, null, 0, 0, false, 0, 0, null, List.of(), null);
    }

    public String id() {
        return id;
    }

    long bytes() {
        return bytes;
    }

    void bytes(long n) {
        bytes = n;
    }

    public View view() {
        return view;
    }

    public boolean finished() {
        return view.status().finished();
    }

    /**
     * Done once whoever claimed it has set it up (recorded and started, resumed, or given it up), failed
     * with what the call that claimed it was answered when that was an error. A call under the same id
     * meanwhile waits for it: answered 202 from the entry while the set-up is still running, it could be
     * told SPECULATIVE of a speculation then given up, the first call told 503.
     */
    public CompletableFuture<Void> setUp() {
        return setUp;
    }

    /** The set-up is over; {@code failure}: the error its call was answered, or null. */
    public void setUpDone(Throwable failure) {
        if (failure == null) {
            setUp.complete(null);
        } else {
            setUp.completeExceptionally(failure);
        }
    }

    /** When it finished ({@link System#currentTimeMillis()}), 0 while it is speculative. */
    public long finishedMillis() {
        return finishedMillis;
    }

    // ---- transitions, by the driver only ----

    /** The first plan's result, answered in the 202. */
    void speculated(JsonNode result) {
        View v = view;
        view = new View(id, v.status(), result, result, v.attempts(), 0, false, 0, 0, null, List.of(), null);
    }

    /** Attempt {@code n} (0-based) is being submitted, with the result it will commit if it commits. */
    void submitting(int n, JsonNode result) {
        View v = view;
        view = new View(id, v.status(), v.speculativeResult(), result, n + 1, 0, false, 0, 0, null, List.of(), null);
    }

    /** An earlier call under this id committed, with {@code result} (null: not known); this one submits nothing. */
    void committedBefore(JsonNode result) {
        View v = view;
        view = new View(id, v.status(), v.speculativeResult(), result, 0, 0, false, 0, 0, null, List.of(), null);
    }

    /** What the coordinator committed under the id was {@code result}, not this speculation's plan. */
    void committedResult(JsonNode result) {
        View v = view;
        view = new View(id, v.status(), v.speculativeResult(), result, v.attempts(), 0, false, 0, 0, null, List.of(), null);
    }

    void waiting(String why) {
        view = view.with(Status.SPECULATIVE, why);
    }

    /** The coordinator committed it at {@code sequence} of {@code stream}; it stays speculative until applied here. */
    void logged(long timestamp, boolean adjusted, long sequence, long stream) {
        View v = view;
        view = new View(id, v.status(), v.speculativeResult(), v.result(), v.attempts(), timestamp, adjusted, sequence,
                stream, null, List.of(), "committed at log sequence " + sequence + "; waiting for this mirror to apply it");
    }

    /**
     * The outcome it will finish with once committed, not yet shown: an outcome is shown only once it is
     * recorded ({@link #finish}), so that no client sees one a restart could change.
     */
    View committed(boolean reexecuted) {
        return view.with(reexecuted ? Status.REEXECUTED : Status.COMMITTED, null);
    }

    /** As {@link #committed}, rolled back. */
    View rolledBack(String reason, List<String> conflicts, String message) {
        View v = view;
        return new View(id, Status.ROLLED_BACK, v.speculativeResult(), null, v.attempts(), 0, false, 0, 0, reason,
                List.copyOf(conflicts), message);
    }

    /** Shows {@code outcome} (one of {@link #committed}, {@link #rolledBack}), recorded at {@code recordedMillis}. */
    void finish(View outcome, long recordedMillis) {
        finishedMillis = recordedMillis;
        view = outcome;
    }
}
