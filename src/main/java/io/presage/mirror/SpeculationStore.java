package io.presage.mirror;

import java.util.ArrayList;
import java.util.List;

import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * The mirror's speculations in its PostgreSQL ({@code speculations}, migration V2): each one is recorded
 * before its 202, and its outcome when it is decided. The reactive pool is used directly, as for reads:
 * single-row statements, some from threads that are not request contexts.
 */
final class SpeculationStore {

    /**
     * A recorded speculation; {@code outcome} is null (and {@code finishedMillis} 0) while it is undecided;
     * for a procedure, the last attempt sent (V3): its number, transaction body (null before the first) and
     * result.
     */
    record Recorded(String id, String kind, String name, String body, long finishedMillis, String outcome, int attempt,
            String attemptTxn, String attemptResult, String speculated) {
        boolean finished() {
            return outcome != null;
        }
    }

    /** The columns {@link #row} reads, in its order. */
    private static final String COLUMNS = "id, kind, name, body, finished_ms, outcome, attempt, attempt_txn, attempt_result, speculated";

    /**
     * A row {@link #settle} left: decided (so never resumed, and forgotten in time) without an outcome.
     * Qualified, as {@code on conflict ... where} needs it.
     */
    private static final String DROPPED = "speculations.finished_ms is not null and speculations.outcome is null";

    private final Pool pool;

    SpeculationStore(Pool pool) {
        this.pool = pool;
    }

    /**
     * Records a new speculation; false when one with this id is recorded already. A {@linkplain #settle
     * dropped} one is replaced (its id was never answered 202), unless it was dropped after this very
     * record was made: that is a record still running in the server for a call already answered 503.
     */
    Uni<Boolean> record(String id, String kind, String name, String body, String speculated, long nowMillis) {
        return pool.preparedQuery("insert into speculations (id, kind, name, body, created_ms, speculated) "
                + "values ($1, $2, $3, $4, $5, $6) on conflict (id) do update set kind = excluded.kind, "
                + "name = excluded.name, body = excluded.body, created_ms = excluded.created_ms, "
                + "speculated = excluded.speculated, finished_ms = null, outcome = null, attempt = 0, "
                + "attempt_txn = null, attempt_result = null where " + DROPPED
                + " and speculations.created_ms < excluded.created_ms")
                .execute(Tuple.of(id, kind, name, body, nowMillis).addString(speculated))
                .map(r -> r.rowCount() == 1);
    }

    /**
     * After a {@link #record} that failed (its outcome unknown: the insert may have committed and only its
     * reply been lost): true when it did not commit and now never will, false when a row with this id is
     * there (that insert's, or one from before). A plain delete cannot tell this: an insert still running in
     * the server for a connection already cut does not block it and can commit after it. This marks the id
     * dropped with an insert of its own, which waits for that one and leaves a row it cannot get past; the
     * mark is forgotten with the decided ones ({@link #forget}) and replaced by the id's next {@link #record}.
     * {@code recordMillis} is the failed record's: a mark from an earlier drop is moved up to it, so that the
     * failed record, if it was to replace that mark and is still running, cannot (see {@link #record}).
     */
    Uni<Boolean> settle(String id, long recordMillis) {
        return pool.preparedQuery("insert into speculations (id, kind, body, created_ms, finished_ms) "
                + "values ($1, 'transaction', '', $2, $2) on conflict (id) do update set "
                + "created_ms = greatest(speculations.created_ms, excluded.created_ms) where " + DROPPED)
                .execute(Tuple.of(id, recordMillis)).map(r -> r.rowCount() == 1);
    }

    /** Records attempt {@code n} of procedure speculation {@code id}, about to be sent as {@code txn}. */
    Uni<Void> attempting(String id, int n, String txn, String result) {
        return pool.preparedQuery("update speculations set attempt = $2, attempt_txn = $3, attempt_result = $4 where id = $1")
                .execute(Tuple.of(id, n, txn, result)).replaceWithVoid();
    }

    Uni<Void> finished(String id, long nowMillis, String outcome) {
        return pool.preparedQuery("update speculations set finished_ms = $2, outcome = $3 where id = $1")
                .execute(Tuple.of(id, nowMillis, outcome)).replaceWithVoid();
    }

    /** The speculation recorded under {@code id}; null if none, or {@linkplain #settle dropped}. */
    Uni<Recorded> get(String id) {
        return pool.preparedQuery("select " + COLUMNS + " from speculations where id = $1 and not (" + DROPPED + ")")
                .execute(Tuple.of(id)).map(rows -> rows.size() == 0 ? null : row(rows.iterator().next()));
    }

    /**
     * The ids of every speculation still undecided, oldest first. Ids only: each is read whole when it is
     * taken over, one at a time. Reading every row (bodies of up to a transaction's limit each) at once
     * could fail a start after a crash with many large speculations under way, every time.
     */
    Uni<List<String>> undecided() {
        return pool.preparedQuery("select id from speculations where finished_ms is null order by created_ms").execute()
                .map(rows -> {
                    List<String> out = new ArrayList<>(rows.size());
                    rows.forEach(r -> out.add(r.getString(0)));
                    return out;
                });
    }

    /** Forgets the speculations decided before {@code beforeMillis}; the number forgotten. */
    Uni<Integer> forget(long beforeMillis) {
        return pool.preparedQuery("delete from speculations where finished_ms < $1").execute(Tuple.of(beforeMillis))
                .map(r -> r.rowCount());
    }

    private static Recorded row(Row r) {
        Long finished = r.getLong(4);
        return new Recorded(r.getString(0), r.getString(1), r.getString(2), r.getString(3), finished == null ? 0 : finished,
                r.getString(5), r.getInteger(6), r.getString(7), r.getString(8), r.getString(9));
    }
}
