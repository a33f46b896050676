package io.presage.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.presage.api.ApiException;

/** Tokens name the log stream as well as the position; one of another stream is refused, never taken as reached. */
class TokensTest {
    private static final long STREAM = 1_764_000_000_123_456L;
    private static final long OTHER = STREAM + 1;

    @AfterEach
    void unknownAgain() {
        Tokens.streams(0, 0);
    }

    @Test
    void aTokenNamesTheNodesStreamAndRoundTrips() {
        Tokens.streams(STREAM, STREAM);
        for (long p : new long[] {0, 1, 36, 1L << 40, Long.MAX_VALUE}) {
            String t = Tokens.of(p);
            assertTrue(t.startsWith("p2."), t);
            assertEquals(p, Tokens.position(t));
        }
    }

    @Test
    void aTokenOfAnotherStreamIs409LogReplaced() {
        Tokens.streams(STREAM, STREAM);
        String other = Tokens.of(5, OTHER);
        ApiException e = assertThrows(ApiException.class, () -> Tokens.position(other));
        assertEquals(409, e.status());
        assertEquals("LOG_REPLACED", e.code());
        // Whoever only needs the number (a coordinator's answer at a mirror) still gets it.
        assertEquals(5, Tokens.anyPosition(other));
    }

    @Test
    void aNodeWhoseStreamWasReplacedHonoursTheNewStreamsTokensAndGivesOutItsOwnDatas() {
        Tokens.streams(STREAM, OTHER); // data from STREAM; the stream under the name now is OTHER
        assertEquals(7, Tokens.position(Tokens.of(7, OTHER)));
        String mine = Tokens.of(7);
        assertEquals(409, assertThrows(ApiException.class, () -> Tokens.position(mine)).status());
    }

    @Test
    void oldFormatTokensAndTokensBeforeTheStreamIsKnownAreTakenAsPositions() {
        Tokens.streams(STREAM, STREAM);
        assertEquals(35, Tokens.position("p1.z"));
        Tokens.streams(0, 0);
        assertEquals("p1.z", Tokens.of(35));
        assertEquals(35, Tokens.position(Tokens.of(35, OTHER)));
    }

    /**
     * A node that has just started knows from its database which stream its data came from before its applier
     * has looked at the stream under the name (it may wait for NATS): a token of another stream is refused
     * meanwhile, not honoured as a position of this node's data; the applier's look then decides.
     */
    @Test
    void beforeTheApplierHasLookedTokensAreJudgedByTheStreamTheDataCameFrom() {
        Tokens.streamsIfUnknown(STREAM);
        assertEquals(409, assertThrows(ApiException.class, () -> Tokens.position(Tokens.of(5, OTHER))).status());
        assertEquals(5, Tokens.position(Tokens.of(5, STREAM)));
        Tokens.streams(STREAM, OTHER); // the applier found the stream made again
        Tokens.streamsIfUnknown(STREAM); // a later restart of its loop changes nothing known
        assertEquals(5, Tokens.position(Tokens.of(5, OTHER)));
    }

    @Test
    void malformedTokensAre400() {
        for (String t : new String[] {"p2.5", "p2.5.", "p2..5", "p2.5.0", "p2.5.-1", "p2.!.5", "p2.5.5.5", "p3.5",
                "p2." + "z".repeat(40)}) {
            ApiException e = assertThrows(ApiException.class, () -> Tokens.position(t), t);
            assertEquals(400, e.status(), t);
        }
    }
}
