package io.presage.apply;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

import javax.sql.DataSource;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.hibernate.reactive.mutiny.Mutiny;

import io.smallrye.mutiny.Uni;

/**
 * The store on PostgreSQL: Hibernate Reactive for everything on the request path; plain JDBC only
 * for the certifier's rare blocking question about a cold key (its thread must not wait on an event
 * loop).
 */
@ApplicationScoped
public class PgItemStore implements ItemStore {

    @Inject
    Mutiny.SessionFactory sessions;
    @Inject
    DataSource jdbc;

    @Override
    public Uni<StoredItem> get(String key) {
        return sessions.withStatelessSession(s -> s.get(ItemRow.class, key)).map(PgItemStore::toItem);
    }

    @Override
    public Uni<Snapshot> getAll(List<String> keys) {
        if (keys.isEmpty()) {
            return appliedSequence().map(seq -> new Snapshot(List.of(), seq));
        }
        // One statement, so one snapshot: the items and the position they are current at.
        String sql = "select s.last_seq, i.item_key, i.item_value, i.version, i.vclock, i.seq "
                + "from apply_state s left join items i on i.item_key in (:keys) where s.id = 1";
        return sessions.withStatelessSession(s -> s.createNativeQuery(sql, Object[].class)
                .setParameter("keys", keys).getResultList()).map(rows -> {
                    long applied = 0;
                    List<StoredItem> items = new ArrayList<>(rows.size());
                    for (Object[] r : rows) {
                        applied = ((Number) r[0]).longValue();
                        if (r[1] != null) {
                            items.add(new StoredItem((String) r[1], utf8((String) r[2]), ((Number) r[3]).longValue(),
                                    Vclocks.parse((String) r[4]), ((Number) r[5]).longValue()));
                        }
                    }
                    return new Snapshot(items, applied);
                });
    }

    @Override
    public Uni<Long> appliedSequence() {
        return sessions.withStatelessSession(s -> s.createNativeQuery("select last_seq from apply_state where id = 1",
                Long.class).getSingleResult());
    }

    @Override
    public Uni<Long> maxVersion() {
        return sessions.withStatelessSession(s -> s.createNativeQuery("select coalesce(max(version), 0) from items",
                Long.class).getSingleResult());
    }

    @Override
    public long currentVersionBlocking(String key) {
        try (Connection c = jdbc.getConnection();
             PreparedStatement ps = c.prepareStatement("select version from items where item_key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : 0L;
            }
        } catch (SQLException e) {
            // Unknown is safe: the certifier then refuses the read as HISTORY_TOO_SHORT.
            return io.presage.certify.ColdVersions.UNKNOWN;
        }
    }

    @Override
    public Uni<TxnRecord> findTxn(String id) {
        return sessions.withStatelessSession(s -> s.createNativeQuery(
                "select txn_id, ts, adjusted, seq from txn_ids where txn_id = :id", Object[].class)
                .setParameter("id", id).getResultList())
                .map(PgItemStore::firstTxn);
    }

    @Override
    public Uni<TxnRecord> findAnyTxn(List<String> ids) {
        return sessions.withStatelessSession(s -> s.createNativeQuery(
                "select txn_id, ts, adjusted, seq from txn_ids where txn_id in (:ids) order by seq limit 1", Object[].class)
                .setParameter("ids", ids).getResultList())
                .map(PgItemStore::firstTxn);
    }

    private static TxnRecord firstTxn(List<Object[]> rows) {
        return rows.isEmpty() ? null : new TxnRecord((String) rows.get(0)[0],
                ((Number) rows.get(0)[1]).longValue(), (Boolean) rows.get(0)[2], ((Number) rows.get(0)[3]).longValue());
    }

    static StoredItem toItem(ItemRow r) {
        if (r == null) {
            return null;
        }
        return new StoredItem(r.key, utf8(r.value), r.version, Vclocks.parse(r.vclock), r.seq);
    }

    private static byte[] utf8(String s) {
        return s == null ? null : s.getBytes(StandardCharsets.UTF_8);
    }
}
