package io.presage.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;

import org.junit.jupiter.api.Test;

/** Which ids are a call's attempts: the coordinator, the mirrors and the applier all read them this way. */
class AttemptsTest {

    @Test
    void anAttemptIdIsACallIdThenHashAndOneDigitBelowEight() {
        assertEquals("call", Attempts.callOf("call#0"));
        assertEquals("call#3", Attempts.callOf("call#3#7"));
        for (String notAnAttempt : new String[] { "call", "call#8", "call#12", "call#x", "#3", "call#" }) {
            assertNull(Attempts.callOf(notAnAttempt), notAnAttempt);
        }
    }

    @Test
    void theAttemptsBeforeAnAttemptAreItsCallsLowerNumbers() {
        assertEquals(List.of("c#0", "c#1"), Attempts.earlier("c#2"));
        assertEquals(List.of(), Attempts.earlier("c#0"));
        assertEquals(List.of(), Attempts.earlier("c#8"));
        assertEquals(List.of(), Attempts.earlier("c"));
    }

    @Test
    void theAttemptsAfterAnAttemptAreItsCallsHigherNumbersBelowEight() {
        assertEquals(List.of("c#6", "c#7"), Attempts.later("c#5"));
        assertEquals(List.of(), Attempts.later("c#7"));
        assertEquals(List.of("c#1", "c#2", "c#3", "c#4", "c#5", "c#6", "c#7"), Attempts.later("c#0"));
        assertEquals(List.of(), Attempts.later("c#8"));
        assertEquals(List.of(), Attempts.later("c"));
    }
}
