package io.presage.api;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.util.concurrent.CompletionException;

import org.junit.jupiter.api.Test;

import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;

/** A database that cannot be reached is a 503 (retry), anything else from it stays a bug (500). */
class StoreOutageTest {

    private static PgException pg(String sqlState) {
        return new PgException("message", "ERROR", sqlState, null);
    }

    @Test
    void aRefusedOrLostConnectionIsAnOutageHoweverDeeplyWrapped() {
        // What the reactive client gave with the launcher's PostgreSQL stopped: Connection refused.
        assertTrue(StoreOutage.is(new ConnectException("Connection refused: /127.0.0.1:15432")));
        assertTrue(StoreOutage.is(new CompletionException(new RuntimeException(new ConnectException("refused")))));
        assertTrue(StoreOutage.is(ClosedConnectionException.INSTANCE));
        // What a statement in flight got when the server was stopped under it (StoreConnectionResetIT).
        assertTrue(StoreOutage.is(new java.net.SocketException("Connection reset")));
    }

    @Test
    void theServerShuttingDownOrStartingIsAnOutage() {
        assertTrue(StoreOutage.is(pg("57P01")), "admin shutdown");
        assertTrue(StoreOutage.is(pg("57P03")), "cannot connect now (starting up)");
        assertTrue(StoreOutage.is(pg("08006")), "connection failure");
        assertTrue(StoreOutage.is(pg("53300")), "too many connections: max_connections taken by other clients");
    }

    @Test
    void otherDatabaseErrorsAreNot() {
        assertFalse(StoreOutage.is(pg("22021")), "invalid byte sequence: a bug to log, not to retry");
        assertFalse(StoreOutage.is(pg("23505")), "unique violation");
        assertFalse(StoreOutage.is(pg("53100")), "disk full: not fixed by a retry soon");
        assertFalse(StoreOutage.is(new IllegalStateException("x")));
        assertFalse(StoreOutage.is(pg(null)));
    }
}
