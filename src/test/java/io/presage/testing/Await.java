package io.presage.testing;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Waiting in a test for what it needs, instead of sleeping and hoping: fails saying what did not happen. */
public final class Await {
    private Await() {
    }

    /** Until {@code c} holds, looked at every {@code everyMillis}; fails after {@code seconds} saying what was awaited. */
    public static void until(BooleanSupplier c, String what, long seconds, long everyMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!c.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "not " + what + " in " + seconds + " s");
            Thread.sleep(everyMillis);
        }
    }
}
