package io.presage.mirror;

import java.util.concurrent.CompletableFuture;

import io.presage.apply.Applier;
import io.presage.log.PositionWaiters;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * Whether this mirror has applied a given log message, for a speculation's commit: COMMITTED promises
 * that the mirror's own reads show it. The applied position alone does not say so. A message the applier
 * could not decode is parked and the position moves past it all the same, so the commit's writes are not
 * here; and a log stream made again (or purged) ends before the position, so its new messages at
 * sequences already passed are never applied. Either way the answer fails, saying why, and the caller asks
 * again later: a parked message counts as applied once an operator has dealt with it (deleted its row in
 * {@code dead_letters}, as for readiness and reads).
 */
final class AppliedHere {
    private final PositionWaiters waiters;
    private final Applier applier;
    private final Pool pool;

    AppliedHere(PositionWaiters waiters, Applier applier, Pool pool) {
        this.waiters = waiters;
        this.applier = applier;
        this.pool = pool;
    }

    /** Completes once message {@code sequence} is applied here; fails with {@link NotApplied} if it was passed over. */
    CompletableFuture<Void> applied(long sequence) {
        return waiters.await(sequence).thenCompose(x -> {
            if (applier.streamEndBehindStore() >= 0) {
                return CompletableFuture.failedFuture(new NotApplied("this mirror's copy does not match the log (the log "
                        + "stream ends before what it applied: made again, or purged; see /v1/status)"));
            }
            if (applier.deadLetters() == 0) {
                // Counted before the position moves past a parked message: none parked, none to look up.
                return CompletableFuture.completedFuture(null);
            }
            return pool.preparedQuery("select 1 from dead_letters where seq = $1").execute(Tuple.of(sequence))
                    .subscribeAsCompletionStage().thenCompose(rows -> rows.size() == 0
                            ? CompletableFuture.<Void>completedFuture(null)
                            : CompletableFuture.<Void>failedFuture(new NotApplied("this mirror could not decode that log "
                                    + "message: it is parked as a dead letter (see /v1/status)")));
        });
    }

    /** The message was passed over, not applied: asked again later. */
    static final class NotApplied extends RuntimeException {
        NotApplied(String message) {
            super(message, null, false, false);
        }
    }
}
