package io.presage.coord;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import io.presage.log.LogFencedException;
import io.presage.log.LogUnavailableException;

/**
 * Which last failure of an append its clients hear as "not committed" (503) and which as "not known"
 * (504). An attempt that got no ack may have landed (a server that stored it and restarted before
 * answering); a resend that then finds the connection down proves nothing of it, and was answered 503.
 */
class AppendFailureTest {

    private static boolean unknown(Throwable t) {
        return t instanceof LogUnavailableException u && u.mayHaveBeenAppended();
    }

    @Test
    void aResendThatCannotBeSentAfterAnAttemptWithoutAnAckLeavesTheOutcomeUnknown() {
        LogUnavailableException notConnected = new LogUnavailableException("not connected", false, null);
        assertTrue(unknown(GroupCommit.lastFailure(notConnected, true)));
        assertFalse(unknown(GroupCommit.lastFailure(notConnected, false)), "never sent at all: not committed");
    }

    @Test
    void aFenceOnTheResendProvesTheEarlierAttemptDidNotLand() {
        // A resent id that got in is answered with a duplicate ack before the expected sequence is checked.
        LogFencedException fenced = new LogFencedException(10, 11, new IllegalStateException("wrong last sequence"));
        assertSame(fenced, GroupCommit.lastFailure(fenced, true));
        LogUnavailableException noAck = new LogUnavailableException("no ack", true, null);
        assertSame(noAck, GroupCommit.lastFailure(noAck, true));
    }
}
