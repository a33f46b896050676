package io.presage.apply;

import java.time.Duration;
import java.util.Objects;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.presage.config.PresageConfig;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Vertx;

/**
 * Deletes idempotency ids from the store once they are older than {@code presage.apply.id-retention}
 * (since they were stored, by the database's clock: an adjusted commit's timestamp may lie far in the
 * past), on every node: each applier writes a row for every commit under an id, and nothing else ever
 * removes one. A chunk at a time, so no sweep holds a long transaction or many
 * locks beside the applier's inserts; the next chunk follows at once while chunks come back full.
 *
 * <p>What a deleted id costs: a retry under it is a new transaction. Memory keeps answering for the ids
 * it still holds ({@code presage.group-commit.remembered-ids}, the newest), so only a retry of an id
 * both forgotten from memory and older than the retention can commit twice.
 */
@ApplicationScoped
public class IdRetention {
    private static final Logger LOG = Logger.getLogger(IdRetention.class);
    static final int CHUNK = 10_000;
    private static final Duration CHUNK_TIMEOUT = Duration.ofMinutes(2);

    @Inject
    PresageConfig config;
    @Inject
    ItemStore store;
    @Inject
    Vertx vertx;
    @Inject
    MeterRegistry registry;

    private Counter forgotten;
    private long timer = -1;
    private volatile boolean sweeping;
    private volatile String lastFailure;

    void onStart(@Observes StartupEvent ev) {
        Duration retention = config.apply().idRetention();
        if (retention.isZero()) {
            return; // kept for ever
        }
        // Counts ids, not transactions: a call's committed attempt is kept under two ids (its own and the call's).
        forgotten = Counter.builder("presage_ids_forgotten_total")
                .description("idempotency ids deleted from txn_ids after the retention; a call's attempt counts twice")
                .register(registry);
        timer = vertx.setPeriodic(periodMillis(retention), t -> sweep(retention));
    }

    void onStop(@Observes ShutdownEvent ev) {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }

    /** A tenth of the retention, between 100 ms and a minute: an id outlives it by at most that much. */
    static long periodMillis(Duration retention) {
        return Math.max(100, Math.min(60_000, retention.toMillis() / 10));
    }

    private void sweep(Duration retention) {
        if (sweeping) {
            return; // the last sweep is still deleting: one at a time
        }
        sweeping = true;
        forget(retention, 0).subscribe().with(n -> {
            sweeping = false;
            lastFailure = null;
            if (n > 0) {
                LOG.debugf("forgot %,d idempotency ids older than %s", n, retention);
            }
        }, e -> {
            sweeping = false;
            String why = String.valueOf(e.getMessage());
            if (!Objects.equals(why, lastFailure)) { // once per kind of failure, not every period (a database down)
                LOG.warnf("could not delete idempotency ids older than %s: %s; trying again", retention, why);
            }
            lastFailure = why;
        });
    }

    private Uni<Long> forget(Duration retention, long sofar) {
        // Bounded: the reactive client sets no timeout of its own, and a delete that never answered (a
        // connection cut without a reset) left `sweeping` set, so that no sweep ran again.
        return store.forgetIdsStoredBefore(retention, CHUNK).ifNoItem().after(CHUNK_TIMEOUT).fail().flatMap(n -> {
            forgotten.increment(n);
            return n < CHUNK ? Uni.createFrom().item(sofar + n) : forget(retention, sofar + n);
        });
    }
}
