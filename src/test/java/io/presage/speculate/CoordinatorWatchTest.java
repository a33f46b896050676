package io.presage.speculate;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** When speculations' calls show the coordinator away, for the turns of re-executions. */
class CoordinatorWatchTest {
    private static final long WINDOW_MS = 10_000;

    private static long in(long ms) {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
    }

    @Test
    void aCoordinatorNobodyCallsIsNotAway() {
        assertFalse(new CoordinatorWatch().awayWithin(WINDOW_MS, in(60_000)));
    }

    /** A frozen coordinator fails no call before the forward timeout: a call waiting in silence shows it. */
    @Test
    void aCallWaitingWithNoAnswerForASecondShowsTheCoordinatorAwayBeforeItFails() {
        CoordinatorWatch w = new CoordinatorWatch();
        w.sent();
        assertFalse(w.awayWithin(WINDOW_MS, in(0)), "just sent");
        assertTrue(w.awayWithin(WINDOW_MS, in(CoordinatorWatch.SILENT_MS + 100)));
        w.answered();
        assertFalse(w.awayWithin(WINDOW_MS, in(CoordinatorWatch.SILENT_MS + 100)), "answered, nothing waits");
    }

    @Test
    void anUnansweredCallShowsTheCoordinatorAwayForTheWindow() {
        CoordinatorWatch w = new CoordinatorWatch();
        w.sent();
        w.unanswered();
        assertTrue(w.awayWithin(WINDOW_MS, in(WINDOW_MS - 1_000)));
        assertFalse(w.awayWithin(WINDOW_MS, in(WINDOW_MS + 1_000)));
    }

    /** A live coordinator answering other calls meanwhile: one slow call does not make it away. */
    @Test
    void aSlowCallWhileOthersAreAnsweredIsNotAnAbsence() {
        CoordinatorWatch w = new CoordinatorWatch();
        w.sent();
        w.sent();
        w.answered();
        assertFalse(w.awayWithin(WINDOW_MS, in(CoordinatorWatch.SILENT_MS / 2)));
    }
}
