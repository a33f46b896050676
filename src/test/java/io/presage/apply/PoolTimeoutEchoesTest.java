package io.presage.apply;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Only the pool's own late failure of a finished statement is kept out of the error log. */
class PoolTimeoutEchoesTest {

    private static IllegalStateException thrownBy(String className, String message) {
        IllegalStateException e = new IllegalStateException(message);
        e.setStackTrace(new StackTraceElement[] {
            new StackTraceElement("io.vertx.core.Promise", "fail", "Promise.java", 90),
            new StackTraceElement(className, "lambda$execute$3", "X.java", 216)});
        return e;
    }

    @Test
    void theSqlPoolsTimerFailingAFinishedStatementIsAnEcho() {
        assertTrue(PoolTimeoutEchoes.isEcho(thrownBy("io.vertx.sqlclient.impl.pool.SqlConnectionPool", "Result is already complete")));
    }

    @Test
    void theSameMessageFromElsewhereOrAnotherFailureFromThePoolIsNot() {
        assertFalse(PoolTimeoutEchoes.isEcho(thrownBy("io.presage.coord.Something", "Result is already complete")));
        assertFalse(PoolTimeoutEchoes.isEcho(thrownBy("io.vertx.sqlclient.impl.pool.SqlConnectionPool", "other")));
        assertFalse(PoolTimeoutEchoes.isEcho(new RuntimeException("Result is already complete")));
    }
}
