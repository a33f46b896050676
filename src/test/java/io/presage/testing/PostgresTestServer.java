package io.presage.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * A real PostgreSQL (zonky's embedded binaries) shared by every test in the JVM: started lazily by
 * the first {@link #get()}, listening on 127.0.0.1 on a free port, stopped by zonky's shutdown hook
 * (or {@link #close()}). Tests isolate themselves with {@link #createDatabase()}, which is much cheaper
 * than a server per test. Never the shared PostgreSQL on 5432.
 *
 * <p>Authentication is trust on loopback; {@link #username()} / {@link #password()} are what clients
 * should send anyway.
 */
public final class PostgresTestServer implements AutoCloseable {

    private static final String USER = "postgres";
    private static final String PASSWORD = "postgres";
    private static final AtomicInteger DATABASES = new AtomicInteger();
    private static PostgresTestServer instance;

    private final EmbeddedPostgres postgres;

    private PostgresTestServer(EmbeddedPostgres postgres) {
        this.postgres = postgres;
    }

    /** The JVM's server, started on first use. */
    public static synchronized PostgresTestServer get() {
        if (instance == null) {
            try {
                instance = new PostgresTestServer(EmbeddedPostgres.builder()
                        .setServerConfig("listen_addresses", "127.0.0.1")
                        .setServerConfig("max_connections", "200")
                        .setServerConfig("fsync", "off")
                        .setServerConfig("synchronous_commit", "off")
                        // zonky waits 10 s by default; a busy CI machine can take longer to start a cluster.
                        .setPGStartupWait(Duration.ofSeconds(60))
                        .start());
            } catch (IOException e) {
                throw new UncheckedIOException("could not start embedded PostgreSQL", e);
            }
        }
        return instance;
    }

    /** Creates an empty database with a fresh name and returns the name. */
    public String createDatabase() {
        String name = "presage_test_" + DATABASES.incrementAndGet() + "_" + ProcessHandle.current().pid();
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("could not create database " + name, e);
        }
        return name;
    }

    public int port() {
        return postgres.getPort();
    }

    /** {@code jdbc:postgresql://localhost:PORT/db?user=postgres} (localhost is 127.0.0.1 here). */
    public String jdbcUrl(String database) {
        return postgres.getJdbcUrl(USER, database);
    }

    /** A JDBC connection to {@code database}, as the test's own client (to look at or change a node's data). */
    public Connection connect(String database) throws SQLException {
        return java.sql.DriverManager.getConnection(jdbcUrl(database), USER, PASSWORD);
    }

    /** The reactive client's form (Quarkus {@code quarkus.datasource.reactive.url}). */
    public String reactiveUrl(String database) {
        return "postgresql://localhost:" + postgres.getPort() + "/" + database;
    }

    public String username() {
        return USER;
    }

    public String password() {
        return PASSWORD;
    }

    /** Stops the server; a later {@link #get()} starts a new one. */
    @Override
    public void close() {
        synchronized (PostgresTestServer.class) {
            if (instance == this) {
                instance = null;
            }
        }
        try {
            postgres.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
