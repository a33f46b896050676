package io.presage.it;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

import org.eclipse.microprofile.config.Config;
import org.eclipse.microprofile.config.ConfigProvider;

/** A plain JDBC connection to the database of the application under test, for tests that reach behind it. */
final class AppDatabase {
    private AppDatabase() {
    }

    static Connection connect() throws SQLException {
        Config c = ConfigProvider.getConfig();
        return DriverManager.getConnection(c.getValue("quarkus.datasource.jdbc.url", String.class),
                c.getValue("quarkus.datasource.username", String.class),
                c.getOptionalValue("quarkus.datasource.password", String.class).orElse(""));
    }

    /** The item's value as the applier stored it (not what the node holds in memory); null if it has no row. */
    static String storedValue(String key) throws SQLException {
        try (Connection c = connect();
                PreparedStatement ps = c.prepareStatement("select item_value from items where item_key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    /**
     * Until a session other than the caller's own waits on a lock in the application's database: the node's
     * statement (the applier's, say) behind one a test holds. 30 s at most.
     */
    static void awaitSessionWaitingOnALock() throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        try (Connection look = connect(); java.sql.Statement s = look.createStatement()) {
            while (true) {
                try (java.sql.ResultSet r = s.executeQuery("select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
                        + "and datname = current_database() and pid <> pg_backend_pid()")) {
                    r.next();
                    if (r.getLong(1) > 0) {
                        return;
                    }
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("no statement of the node waited on the test's lock within 30 s");
                }
                Thread.sleep(10);
            }
        }
    }
}
