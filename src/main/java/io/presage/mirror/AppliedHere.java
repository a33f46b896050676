package io.presage.mirror;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.presage.apply.Applier;
import io.presage.log.PositionWaiters;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;

/**
 * Whether this mirror has applied a given log message, for a speculation's commit: COMMITTED promises
 * that the mirror's own reads show it. The applied position alone does not say so. A message the applier
 * could not decode is parked and the position moves past it all the same, so the commit's writes are not
 * here; and a log stream made again (or purged) ends before the position, so its new messages at
 * sequences already passed are never applied. Either way the answer fails, saying why, and the caller asks
 * again later: a parked message counts as applied once an operator has dealt with it (deleted its row in
 * {@code dead_letters}, as for readiness and reads).
 *
 * <p>The parked sequences are read once for every speculation asking, at most every {@link #REREAD_MS}:
 * each speculation whose commit is parked asks again every 2 s until an operator acts, and a coordinator
 * upgraded before its mirrors parks every message after it, so one look per speculation was up to 5,000
 * queries a second at the 10,000 speculations a mirror holds.
 */
final class AppliedHere {
    /** How old a read of the parked sequences may be: an operator's deletion is seen this much later at most. */
    static final long REREAD_MS = 1_000;

    private final PositionWaiters waiters;
    private final Applier applier;
    private final Pool pool;
    /** The last read of the parked sequences (or the one under way); null before the first. */
    private Parked parked;

    /** The sequences in {@code dead_letters}, read when this mirror had applied {@code appliedBefore}. */
    private record Parked(long appliedBefore, long readNanos, CompletableFuture<Set<Long>> seqs) {
        boolean covers(long sequence, long nowNanos) {
            return appliedBefore >= sequence && nowNanos - readNanos < TimeUnit.MILLISECONDS.toNanos(REREAD_MS)
                    && !seqs.isCompletedExceptionally();
        }
    }

    AppliedHere(PositionWaiters waiters, Applier applier, Pool pool) {
        this.waiters = waiters;
        this.applier = applier;
        this.pool = pool;
    }

    /**
     * Completes once message {@code sequence} of log stream {@code stream} (0: not named) is applied here; fails
     * with {@link NotApplied} if it was passed over, or is another stream's. A position means something only
     * in its own stream: a mirror that has not yet noticed that its stream was replaced (it looks once a
     * pull) has passed the new stream's low sequences in the old one, and took such a commit for applied.
     */
    CompletableFuture<Void> applied(long sequence, long stream) {
        if (stream != 0 && applier.appliedLog() != 0 && stream != applier.appliedLog()) {
            return CompletableFuture.failedFuture(otherStream(stream)); // not waited for: never applied from here
        }
        return waiters.await(sequence).thenCompose(x -> {
            if (stream != 0 && stream != applier.appliedLog()) {
                return CompletableFuture.failedFuture(otherStream(stream));
            }
            if (applier.streamEndBehindStore() >= 0 || applier.logReplaced()) {
                return CompletableFuture.failedFuture(new NotApplied("this mirror's copy does not match the log (the log "
                        + "stream was made again, or ends before what it applied; see /v1/status)"));
            }
            if (applier.deadLetters() == 0) {
                // Counted before the position moves past a parked message: none parked, none to look up.
                return CompletableFuture.completedFuture(null);
            }
            return parked(sequence).thenCompose(seqs -> !seqs.contains(sequence)
                    ? CompletableFuture.<Void>completedFuture(null)
                    : CompletableFuture.<Void>failedFuture(new NotApplied("this mirror could not decode that log "
                            + "message: it is parked as a dead letter (see /v1/status)")));
        });
    }

    private NotApplied otherStream(long stream) {
        return new NotApplied("the coordinator committed it in another log stream (created at " + stream + " µs) than the "
                + "one this mirror applied from (" + applier.appliedLog() + " µs): the stream was deleted and made again, "
                + "and this mirror applies nothing from the new one (see /v1/status)");
    }

    /**
     * The parked sequences, as read after this mirror had passed {@code sequence} (a message is parked in the
     * transaction that moves the position past it, so such a read has its row) and at most {@link #REREAD_MS}
     * ago: shared with every other speculation asking meanwhile.
     */
    private synchronized CompletableFuture<Set<Long>> parked(long sequence) {
        long now = System.nanoTime();
        if (parked != null && parked.covers(sequence, now)) {
            return parked.seqs();
        }
        long appliedBefore = applier.appliedSequence(); // before the query starts
        CompletableFuture<Set<Long>> seqs = pool.query("select seq from dead_letters").execute()
                .map(rows -> {
                    Set<Long> s = new HashSet<>();
                    for (Row r : rows) {
                        s.add(r.getLong(0));
                    }
                    return s;
                }).subscribeAsCompletionStage();
        parked = new Parked(appliedBefore, now, seqs);
        return seqs;
    }

    /** The message was passed over, not applied: asked again later. */
    static final class NotApplied extends RuntimeException {
        NotApplied(String message) {
            super(message, null, false, false);
        }
    }
}
