package io.presage.speculate;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A {@link Speculator}'s finish callback for tests: one latch a speculation id, opened when that
 * speculation is decided, so a test waits for an outcome instead of sleeping.
 */
final class Finished implements Consumer<Speculation> {
    private final Map<String, CountDownLatch> done = new ConcurrentHashMap<>();

    @Override
    public void accept(Speculation s) {
        latch(s.id()).countDown();
    }

    /** Open once speculation {@code id} has finished (made on first use, by the test or the callback). */
    CountDownLatch latch(String id) {
        return done.computeIfAbsent(id, k -> new CountDownLatch(1));
    }

    /** Waits for {@code s} to finish; fails after 10 s. */
    void await(Speculation s) throws InterruptedException {
        assertTrue(latch(s.id()).await(10, TimeUnit.SECONDS), "finished: " + s.view());
    }
}
