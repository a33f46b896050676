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

    private final Pool pool;

    SpeculationStore(Pool pool) {
        this.pool = pool;
    }

    /** Records a new speculation; false when one with this id is recorded already. */
    Uni<Boolean> record(String id, String kind, String name, String body, String speculated, long nowMillis) {
        return pool.preparedQuery("insert into speculations (id, kind, name, body, created_ms, speculated) "
                + "values ($1, $2, $3, $4, $5, $6) on conflict (id) do nothing")
                .execute(Tuple.of(id, kind, name, body, nowMillis).addString(speculated))
                .map(r -> r.rowCount() == 1);
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

    Uni<Recorded> get(String id) {
        return pool.preparedQuery("select " + COLUMNS + " from speculations where id = $1")
                .execute(Tuple.of(id)).map(rows -> rows.size() == 0 ? null : row(rows.iterator().next()));
    }

    /** Every speculation still undecided, oldest first. */
    Uni<List<Recorded>> undecided() {
        return pool.preparedQuery("select " + COLUMNS + " from speculations "
                + "where finished_ms is null order by created_ms").execute().map(rows -> {
                    List<Recorded> out = new ArrayList<>(rows.size());
                    rows.forEach(r -> out.add(row(r)));
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
