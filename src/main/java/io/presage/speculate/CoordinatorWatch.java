package io.presage.speculate;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Whether the coordinator has been away lately, as speculations' own calls to it show: for
 * {@link Speculator}'s turns, which must not take re-executions held up by the coordinator for stuck ones.
 *
 * <p>A failed call alone does not show it soon enough. A coordinator that is frozen or cut off without a
 * reset (SIGSTOP, a partition) fails a call only once the mirror's forward timeout runs out, 10 s by
 * default, as long as a turn is waited for: the queued re-executions timed out before the call ahead of
 * them failed, took the ones ahead for stuck, all went ahead at once, and 18 of 40 were rolled back
 * (TOO_MANY_CONFLICTS) after a 15 s freeze. So a call still waiting while nothing has come back from the
 * coordinator for {@link #SILENT_MS} counts as well. Cost per call: one counter up and down, one volatile
 * write.
 */
final class CoordinatorWatch {
    /**
     * Calls waiting this long with no answer to any call meanwhile: the coordinator is not answering. Far
     * above a commit's usual time; a slow but live coordinator mistaken for away only makes a turn be waited
     * for a little longer.
     */
    static final long SILENT_MS = 1_000;

    private final AtomicInteger waiting = new AtomicInteger();
    private volatile long lastAnsweredNanos = System.nanoTime();
    /** Long ago at first. */
    private volatile long lastUnansweredNanos = System.nanoTime() - TimeUnit.DAYS.toNanos(1);

    /** A call to the coordinator is sent; {@link #answered} or {@link #unanswered} follows, once. */
    void sent() {
        waiting.incrementAndGet();
    }

    /** The coordinator answered a call (whatever the answer). */
    void answered() {
        lastAnsweredNanos = System.nanoTime();
        waiting.decrementAndGet();
    }

    /** A call got no answer (refused, timed out, 503). */
    void unanswered() {
        lastUnansweredNanos = System.nanoTime();
        waiting.decrementAndGet();
    }

    /**
     * Whether the coordinator was away at some time in the last {@code windowMs}: a call went unanswered
     * then, or calls are waiting now and none has been answered for {@link #SILENT_MS}.
     */
    boolean awayWithin(long windowMs, long nowNanos) {
        if (nowNanos - lastUnansweredNanos < TimeUnit.MILLISECONDS.toNanos(windowMs)) {
            return true;
        }
        return waiting.get() > 0 && nowNanos - lastAnsweredNanos >= TimeUnit.MILLISECONDS.toNanos(SILENT_MS);
    }
}
