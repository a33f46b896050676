package io.presage.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;

import org.junit.jupiter.api.Test;

class PostgresTestServerTest {

    @Test
    void eachTestGetsItsOwnFreshDatabaseOnOneSharedLoopbackServer() throws Exception {
        PostgresTestServer pg = PostgresTestServer.get();
        assertSame(pg, PostgresTestServer.get(), "one server per JVM");
        assertNotEquals(5432, pg.port(), "never the shared server");

        String a = pg.createDatabase();
        String b = pg.createDatabase();
        assertNotEquals(a, b);

        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(a), pg.username(), pg.password());
                Statement s = c.createStatement()) {
            s.execute("CREATE TABLE applied (stream_seq BIGINT NOT NULL)");
            s.execute("INSERT INTO applied VALUES (42)");
            try (ResultSet rs = s.executeQuery("SELECT inet_server_addr()::text, current_database()")) {
                rs.next();
                assertTrue(rs.getString(1).startsWith("127.0.0.1"), "listens on loopback: " + rs.getString(1));
                assertEquals(a, rs.getString(2));
            }
        }
        try (Connection c = DriverManager.getConnection(pg.jdbcUrl(b), pg.username(), pg.password());
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_tables WHERE tablename = 'applied'")) {
            rs.next();
            assertEquals(0, rs.getInt(1), "databases are isolated");
        }
        assertEquals("postgresql://localhost:" + pg.port() + "/" + a, pg.reactiveUrl(a));
    }
}
