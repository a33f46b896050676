package io.presage.api;

import java.net.SocketException;

import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;

/**
 * Whether a failure means "the node's PostgreSQL cannot be reached right now" rather than a bug: a
 * refused, lost or reset connection (any socket failure: a server stopped mid-statement resets the
 * connections it had, "Connection reset"), the server shutting down or starting up, or its connection
 * slots all taken (53300, {@code max_connections} reached by other clients). Such a read is answered
 * 503 (retry is safe) instead of 500: with the database down, a coordinator still commits and serves
 * what it holds in memory, and only the reads that need the store fail, for as long as it is away.
 */
public final class StoreOutage {
    private StoreOutage() {
    }

    public static boolean is(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SocketException || t instanceof ClosedConnectionException) {
                return true;
            }
            if (t instanceof PgException pg && pg.getSqlState() != null) {
                String state = pg.getSqlState();
                // 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now;
                // 53300: too many connections.
                if (state.startsWith("08") || state.startsWith("57P0") || state.equals("53300")) {
                    return true;
                }
            }
        }
        return false;
    }
}
