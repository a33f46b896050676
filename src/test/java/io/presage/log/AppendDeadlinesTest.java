package io.presage.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

import org.junit.jupiter.api.Test;

class AppendDeadlinesTest {
    private static final Duration TIMEOUT = Duration.ofNanos(1_000);
    private static final Supplier<Throwable> TIMED_OUT =
            () -> new LogUnavailableException("no ack", true, null);

    @Test
    void anUnansweredAppendFailsAtTheFirstSweepOnOrAfterItsDeadlineAndNotBefore() {
        AppendDeadlines deadlines = new AppendDeadlines(TIMEOUT);
        CompletableFuture<Appended> append = new CompletableFuture<>();
        deadlines.track(append, 5_000);

        assertEquals(0, deadlines.expire(5_999, TIMED_OUT));
        assertFalse(append.isDone(), "one nanosecond before its deadline");
        assertEquals(1, deadlines.expire(6_000, TIMED_OUT));
        ExecutionException e = assertThrows(ExecutionException.class, append::get);
        assertInstanceOf(LogUnavailableException.class, e.getCause());
        assertEquals(0, deadlines.size());
    }

    @Test
    void anAnsweredAppendIsForgottenAndNeverFailedEvenPastItsDeadline() throws Exception {
        AppendDeadlines deadlines = new AppendDeadlines(TIMEOUT);
        CompletableFuture<Appended> append = new CompletableFuture<>();
        deadlines.track(append, 0);
        Appended ack = new Appended(7, false);
        append.complete(ack);

        assertEquals(0, deadlines.expire(50_000, TIMED_OUT));
        assertSame(ack, append.get());
        assertEquals(0, deadlines.size());
    }

    @Test
    void aSweepForgetsAnsweredAppendsUpToTheOldestUnansweredOneWithinItsDeadline() {
        AppendDeadlines deadlines = new AppendDeadlines(TIMEOUT);
        CompletableFuture<?>[] appends = new CompletableFuture<?>[5];
        for (int i = 0; i < appends.length; i++) {
            appends[i] = new CompletableFuture<>();
            deadlines.track(appends[i], i * 100L);
        }
        appends[0].complete(null);
        appends[1].complete(null);
        appends[3].complete(null); // answered, but behind an unanswered one

        assertEquals(0, deadlines.expire(500, TIMED_OUT));
        assertEquals(3, deadlines.size(), "appends 2, 3 and 4 remain");
        assertEquals(1, deadlines.expire(1_200, TIMED_OUT), "append 2 is due at 1,200; 3 was answered");
        assertTrue(appends[2].isCompletedExceptionally());
        assertFalse(appends[3].isCompletedExceptionally());
        assertEquals(1, deadlines.size(), "append 4 is due at 1,400");
    }

    @Test
    void sweepsRunATenthOfTheTimeoutApartWithinOneToAHundredMilliseconds() {
        assertEquals(Duration.ofMillis(100).toNanos(), new AppendDeadlines(Duration.ofSeconds(2)).sweepPeriodNanos());
        assertEquals(Duration.ofMillis(50).toNanos(), new AppendDeadlines(Duration.ofMillis(500)).sweepPeriodNanos());
        assertEquals(Duration.ofMillis(1).toNanos(), new AppendDeadlines(Duration.ofMillis(5)).sweepPeriodNanos());
        assertThrows(IllegalArgumentException.class, () -> new AppendDeadlines(Duration.ZERO));
    }
}
