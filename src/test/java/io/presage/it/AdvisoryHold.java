package io.presage.it;

import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

/** A test's PostgreSQL advisory lock that a trigger makes one of the node's statements wait on. */
final class AdvisoryHold {
    private AdvisoryHold() {
    }

    /** Waits until some session waits for advisory lock {@code lock} (the node's statement the trigger holds). */
    static void awaitWaiter(Statement s, long lock, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            try (ResultSet rs = s.executeQuery("select count(*) from pg_locks where locktype = 'advisory' and not granted "
                    + "and objid = " + lock)) {
                rs.next();
                if (rs.getLong(1) > 0) {
                    return;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError(what + " never waited on the test's lock");
    }
}
