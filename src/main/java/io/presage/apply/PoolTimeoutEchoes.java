package io.presage.apply;

import java.util.concurrent.atomic.AtomicLong;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import org.jboss.logging.Logger;

import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;

/**
 * Keeps a known Vert.x SQL client bug out of the error log. When the reactive pool cannot get a
 * connection (PostgreSQL stopped, refusing connections), the statement fails at once, and its caller
 * answers 503 or retries; but the pool leaves the statement's connection-timeout timer running
 * (vertx-sql-client#1706, in 4.5.27), and when it fires, 30 s later, it fails the finished statement
 * again: {@code IllegalStateException: Result is already complete}, thrown from
 * {@code SqlConnectionPool} on a timer and logged by Quarkus as an uncaught exception with its stack
 * at ERROR. A 25 s outage under load left 322 of them, 6,000 lines that looked like bugs and buried the
 * outage's real story. They report nothing new, so they are counted and logged at DEBUG; every other
 * uncaught exception goes to the handler that was there before.
 */
@ApplicationScoped
public class PoolTimeoutEchoes {
    private static final Logger LOG = Logger.getLogger(PoolTimeoutEchoes.class);
    private static final String POOL = "io.vertx.sqlclient.impl.pool.SqlConnectionPool";

    private final AtomicLong echoes = new AtomicLong();

    // Early, so that a store that is down at start-up is covered too.
    void onStart(@Observes @Priority(1) StartupEvent ev, Vertx vertx) {
        Handler<Throwable> previous = vertx.exceptionHandler();
        vertx.exceptionHandler(t -> {
            if (isEcho(t)) {
                LOG.debugf("pool timeout echo %d of a statement that already failed (vertx-sql-client#1706)",
                        echoes.incrementAndGet());
            } else if (previous != null) {
                previous.handle(t);
            } else {
                LOG.error("uncaught exception in Vert.x", t);
            }
        });
    }

    /** The pool's timer failing a statement that had finished: thrown right out of SqlConnectionPool. */
    static boolean isEcho(Throwable t) {
        if (!(t instanceof IllegalStateException) || !"Result is already complete".equals(t.getMessage())) {
            return false;
        }
        StackTraceElement[] stack = t.getStackTrace();
        for (int i = 0; i < Math.min(3, stack.length); i++) {
            if (POOL.equals(stack[i].getClassName())) {
                return true;
            }
        }
        return false;
    }
}
