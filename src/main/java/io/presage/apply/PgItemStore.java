package io.presage.apply;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import javax.sql.DataSource;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.hibernate.reactive.mutiny.Mutiny;

import io.presage.config.Limits;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;

/**
 * The store on PostgreSQL. Reads on the request path go straight to the reactive PostgreSQL client
 * (the one Hibernate Reactive runs on, same pool) with prepared statements: they are single-table
 * lookups returning plain rows, and a Hibernate stateless session per GET (persistence context,
 * entity initialisers, native-query parameter parsing) cost several times the query itself on the
 * coordinator's request path. The applier's writes stay on Hibernate Reactive. Plain JDBC only for
 * the certifier's rare blocking question about a cold key (its thread must not wait on an event loop).
 */
@ApplicationScoped
public class PgItemStore implements ItemStore {
    // One statement, so one snapshot: the items and the position they are current at.
    private static final String MANY = "select s.last_seq, i.item_key, i.item_value, i.version, i.vclock, i.seq "
            + "from apply_state s left join items i on i.item_key = any($1) where s.id = 1";
    /**
     * As {@link #MANY}, for several keys: the values' total size (octet_length reads no TOASTed value)
     * comes with every row, and the values themselves only while it is within $2.
     */
    private static final String MANY_BOUNDED = "select s.last_seq, i.item_key, case when i.total <= $2 then i.item_value end, "
            + "i.version, i.vclock, i.seq, i.total from apply_state s left join (select *, "
            + "coalesce(sum(octet_length(item_value)) over (), 0) as total from items where item_key = any($1)) i on true "
            + "where s.id = 1";
    /**
     * The most recently written items whose running {@link ReadCache#cost} (newest first) stays within
     * $2, at most $1 of them, beside the applied sequence and the store's key count. The running sum
     * is taken over keys and lengths only (octet_length of a TOASTed value reads no value), and only the
     * rows that fit are read whole.
     */
    private static final String RECENT = "select s.last_seq, s.total, i.item_key, i.item_value, i.version, i.vclock, i.seq "
            + "from (select last_seq, (select count(*) from items) as total from apply_state where id = 1) s "
            + "left join lateral (select it.* from (select item_key, sum(" + ReadCache.ENTRY_OVERHEAD
            + " + char_length(item_key) + coalesce(octet_length(item_value), 0)) over (order by seq desc, item_key) as running "
            + "from items) r join items it using (item_key) where r.running <= $2 order by it.seq desc, it.item_key limit $1) i on true";
    private static final int HUNG_LOOKUP_MILLIS = 30_000;
    private static final int LOOKUP_QUERY_TIMEOUT_SECONDS = 10;
    /** With the applied position, in one snapshot: the coordinator trusts a "not there" only as far as that goes. */
    private static final String TXN = "select s.last_seq, t.txn_id, t.ts, t.adjusted, t.seq, t.result from apply_state s "
            + "left join txn_ids t on t.txn_id = any($1) where s.id = 1";
    /** By the database's clock, which stamps stored_at too (V8). */
    private static final String FORGET_IDS = "delete from txn_ids where txn_id in (select txn_id from txn_ids "
            + "where stored_at < now() - $1 * interval '1 millisecond' order by stored_at limit $2)";

    @Inject
    Mutiny.SessionFactory sessions;
    @Inject
    Pool pool;
    @Inject
    DataSource jdbc;

    @Inject
    Limits limits;

    @Override
    public Uni<Snapshot> getAll(List<String> keys) {
        String[] array = keys.toArray(new String[0]);
        if (keys.size() <= 1) {
            return pool.preparedQuery(MANY).execute(Tuple.of(array)).map(PgItemStore::snapshot);
        }
        long limit = limits.batchBytes();
        return pool.preparedQuery(MANY_BOUNDED).execute(Tuple.of(array, limit)).map(rows -> {
            for (Row r : rows) {
                if (r.getValue(6) != null && r.getLong(6) > limit) {
                    throw new TooLarge(r.getLong(6), limit);
                }
            }
            return snapshot(rows);
        });
    }

    @Override
    public Uni<Recent> loadRecent(int maxKeys, long maxBytes) {
        // Rows are turned into items as they arrive (mapping), so the raw rows are not held beside them.
        return pool.preparedQuery(RECENT).mapping(PgItemStore::recentRow).execute(Tuple.of(maxKeys, maxBytes))
                .map(rows -> {
                    long applied = 0;
                    long total = 0;
                    List<StoredItem> items = new ArrayList<>(rows.size());
                    for (RecentRow r : rows) {
                        applied = r.applied();
                        total = r.storeKeys();
                        if (r.item() != null) {
                            items.add(r.item());
                        }
                    }
                    return new Recent(items, applied, items.size() == total);
                });
    }

    private record RecentRow(long applied, long storeKeys, StoredItem item) {
    }

    private static RecentRow recentRow(Row r) {
        StoredItem item = r.getString(2) == null ? null : new StoredItem(r.getString(2), utf8(r.getString(3)),
                r.getLong(4), Vclocks.parse(r.getString(5)), r.getLong(6));
        return new RecentRow(r.getLong(0), r.getLong(1), item);
    }

    private static Snapshot snapshot(RowSet<Row> rows) {
        long applied = 0;
        List<StoredItem> items = new ArrayList<>(rows.size());
        for (Row r : rows) {
            applied = r.getLong(0);
            if (r.getString(1) != null) {
                items.add(new StoredItem(r.getString(1), utf8(r.getString(2)), r.getLong(3),
                        Vclocks.parse(r.getString(4)), r.getLong(5)));
            }
        }
        return new Snapshot(items, applied);
    }

    @Override
    public Uni<Long> appliedSequence() {
        return pool.preparedQuery("select last_seq from apply_state where id = 1").execute()
                .map(rows -> rows.iterator().next().getLong(0));
    }

    @Override
    public Uni<Long> appliedLog() {
        return pool.preparedQuery("select log_id from apply_state where id = 1").execute()
                .map(rows -> rows.iterator().next().getLong(0));
    }

    @Override
    public Uni<Long> maxCommitTimestamp() {
        return pool.preparedQuery("select max_ts from apply_state where id = 1").execute()
                .map(rows -> rows.iterator().next().getLong(0));
    }

    @Override
    public Uni<DeadLetters> deadLetters(long upTo) {
        return pool.preparedQuery("select count(*), coalesce(min(seq), 0) from dead_letters where seq <= $1")
                .execute(Tuple.of(upTo))
                .map(rows -> {
                    Row r = rows.iterator().next();
                    return new DeadLetters(r.getLong(0), r.getLong(1));
                });
    }

    @Override
    public long currentVersionBlocking(String key, long atLeastSequence) {
        // The position and the version in one statement, so one snapshot: a position read apart could be
        // from before a restore and the version from after it.
        try (Connection c = jdbc.getConnection();
             PreparedStatement ps = c.prepareStatement("select a.last_seq, i.version from apply_state a "
                     + "left join items i on i.item_key = ? where a.id = 1")) {
            // The certifier waits for this at most presage.certification.cold-lookup-timeout (see
            // BoundedColdVersions); this bounds how long a lookup hung on a silent server keeps its thread.
            c.setNetworkTimeout(Runnable::run, HUNG_LOOKUP_MILLIS);
            // The server cancels the query itself (a lock wait, say): closing the socket alone left the
            // session waiting on the server, and repeated lookups could fill max_connections.
            ps.setQueryTimeout(LOOKUP_QUERY_TIMEOUT_SECONDS);
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next() || rs.getLong(1) < atLeastSequence) {
                    return io.presage.certify.ColdVersions.UNKNOWN;
                }
                return rs.getLong(2); // 0 when the key has no row (SQL null)
            }
        } catch (SQLException e) {
            // Unknown is safe: the certifier then refuses the read as HISTORY_TOO_SHORT.
            return io.presage.certify.ColdVersions.UNKNOWN;
        }
    }

    @Override
    public Uni<TxnLookup> findTxns(List<String> ids) {
        return pool.preparedQuery(TXN).execute(Tuple.of(ids.toArray(new String[0]))).map(rows -> {
            Map<String, TxnRecord> found = new HashMap<>();
            long applied = -1;
            for (Row r : rows) {
                applied = r.getLong(0);
                if (r.getString(1) != null) {
                    found.put(r.getString(1), new TxnRecord(r.getString(1), r.getLong(2), r.getBoolean(3), r.getLong(4), r.getString(5)));
                }
            }
            if (applied < 0) {
                throw new IllegalStateException("apply_state has no row: the schema was not migrated");
            }
            return new TxnLookup(applied, found);
        });
    }

    @Override
    public Uni<Integer> forgetIdsStoredBefore(Duration age, int limit) {
        return pool.preparedQuery(FORGET_IDS).execute(Tuple.of(age.toMillis(), limit)).map(RowSet::rowCount);
    }

    private static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }
}
