package io.presage.api;

import java.time.Duration;
import java.util.Map;
import java.util.function.LongSupplier;

import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.core.Vertx;

/**
 * A short, bounded wait for a position that is moments away: the coordinator's acknowledged position
 * reaching a token a mirror gave out. Rare (a token ahead of the acks is one that raced them), so it
 * looks again every {@link #PAUSE_MS} rather than hook the group commit's ack path, which every commit runs.
 */
final class AckWait {
    static final long PAUSE_MS = 2;

    private AckWait() {
    }

    /** Completes once {@code position} reports at least {@code target}; 504 TIMEOUT at {@code deadlineMillis}. */
    static Uni<Void> until(LongSupplier position, long target, long deadlineMillis) {
        long now = position.getAsLong();
        if (now >= target) {
            return Uni.createFrom().voidItem();
        }
        long left = deadlineMillis - System.currentTimeMillis();
        if (left <= 0) {
            return Uni.createFrom().failure(new ApiException(504, "TIMEOUT", "the coordinator has not had log position "
                    + target + " acknowledged in time (it has up to " + now + ")",
                    Map.of("sequence", target, "acknowledgedSequence", now)));
        }
        Context ctx = Vertx.currentContext();
        Uni<Void> pause = Uni.createFrom().voidItem().onItem().delayIt().by(Duration.ofMillis(Math.min(left, PAUSE_MS)));
        // Back on the request's context: the read after it may go to the store, whose client needs it.
        pause = ctx == null ? pause : pause.emitOn(r -> ctx.runOnContext(x -> r.run()));
        return pause.onItem().transformToUni(x -> until(position, target, deadlineMillis));
    }
}
