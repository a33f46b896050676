package io.presage.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;

import io.presage.api.ApiException;

import org.junit.jupiter.api.Test;

class RecentWritesTest {

    private static RecentWrites.Version v(String key, long version, long seq) {
        return new RecentWrites.Version(key, ("" + version).getBytes(), version, seq, Map.of("c", version));
    }

    @Test
    void aReaderAtAPositionGetsTheNewestVersionWrittenAtOrBeforeIt() {
        RecentWrites r = new RecentWrites();
        r.put(v("k", 100, 5));
        r.put(v("k", 300, 9));
        r.put(v("k", 200, 7)); // acks handled out of order still leave the chain newest-first
        assertEquals(300, r.get("k").version());
        assertEquals(200, r.at("k", 8).version());
        assertEquals(100, r.at("k", 6).version());
        assertNull(r.at("k", 4), "nothing that early: the store answers");
    }

    @Test
    void aWaiterForAPositionIsWokenWhenAMessageThereBecomesVisibleAndNotWhenItIsOnlyAcked() {
        RecentWrites r = new RecentWrites();
        r.visible(4);
        assertTrue(r.awaitVisible(4).isDone(), "already visible");
        var at6 = r.awaitVisible(6);
        r.acked(6); // acknowledged, its versions not yet put: a read would not see them
        assertFalse(at6.isDone());
        r.visible(5);
        assertFalse(at6.isDone());
        r.visible(6);
        assertTrue(at6.isDone());
        var at9 = r.awaitVisible(9);
        r.reset(12); // recovery jumps ahead
        assertTrue(at9.isDone());
    }

    @Test
    void aReplayOfVersionsAlreadyHereAddsNothing() {
        RecentWrites r = new RecentWrites();
        r.put(v("k", 100, 5));
        r.put(v("k", 200, 7));
        r.put(v("k", 100, 5)); // a resync replays the log over what the acks already put
        r.put(v("k", 200, 7));
        assertEquals(2, r.versions("k"), "each version once");
        r.put(v("k", 300, 9));
        assertEquals(3, r.versions("k"));
        r.evictApplied(7);
        assertEquals(300, r.get("k").version());
        assertNull(r.at("k", 8), "only the newer version stayed, once, and nothing duplicated came back");
        r.evictApplied(9);
        assertNull(r.get("k"));
        assertEquals(0, r.size());
    }

    @Test
    void evictionDropsOnlyVersionsTheStoreHasAppliedAndSaysHowFarItWent() {
        RecentWrites r = new RecentWrites();
        r.put(v("a", 100, 5));
        r.put(v("a", 200, 7));
        r.put(v("b", 150, 6));
        r.evictApplied(6);
        assertEquals(6, r.evictedUpTo());
        assertEquals(200, r.get("a").version());
        assertNull(r.at("a", 6), "version at sequence 5 went: it is in the store now");
        assertEquals(7, r.get("a").sequence(), "sequence 7 is not applied yet");
        r.evictApplied(3); // never backwards
        assertEquals(6, r.evictedUpTo());
        r.evictApplied(7);
        assertNull(r.get("a"));
        assertNull(r.get("b"), "acked after sequence 7, applied before it: gone with it at the latest");
        assertEquals(0, r.size());
    }

    @Test
    void aVersionAckedAfterTheApplierPassedItIsNotHeld() {
        RecentWrites r = new RecentWrites();
        r.put(v("k", 100, 5));
        r.put(v("k", 300, 9));
        r.evictApplied(9); // the applier can see a message before its publisher sees the ack
        r.put(v("k", 200, 7)); // the ack of an earlier message, handled late
        assertNull(r.get("k"), "the store holds version 300: no older version may answer for k");
        assertEquals(0, r.bytes());
    }

    @Test
    void theHeldBytesFollowEveryPutReplayEvictionAndReset() {
        RecentWrites r = new RecentWrites();
        java.util.Random rnd = new java.util.Random(3);
        java.util.List<RecentWrites.Version> held = new java.util.ArrayList<>();
        long applied = 0;
        for (long seq = 1; seq <= 3_000; seq++) {
            String key = "k" + rnd.nextInt(40);
            RecentWrites.Version v = new RecentWrites.Version(key, rnd.nextInt(6) == 0 ? null : new byte[rnd.nextInt(500)],
                    seq, seq, Map.of("c", seq));
            r.put(v);
            held.add(v);
            if (rnd.nextInt(10) == 0) {
                r.put(v); // a resync replaying the log: not held twice
            }
            if (rnd.nextInt(7) == 0) {
                applied = seq - rnd.nextInt(20);
                r.evictApplied(applied);
                long upTo = applied;
                held.removeIf(h -> h.sequence() <= upTo);
            }
            // The oracle: the versions a model says are held, costed afresh.
            long expected = 0;
            for (RecentWrites.Version h : held) {
                if (h.sequence() > r.evictedUpTo()) {
                    expected += RecentWrites.cost(h);
                }
            }
            assertEquals(expected, r.bytes(), "at sequence " + seq);
        }
        assertTrue(r.bytes() > 0);
        r.reset(4_000);
        assertEquals(0, r.bytes(), "a reset forgets them all");
    }

    @Test
    void aResetForgetsEveryVersionAndStartsBothPositionsAtTheRecoveredOne() {
        RecentWrites r = new RecentWrites();
        r.put(v("k", 100, 5));
        r.acked(5);
        r.visible(5);
        r.reset(3); // a first recovery: the store is at 3, the log is replayed from there
        assertNull(r.get("k"));
        assertEquals(0, r.size());
        assertEquals(3, r.acked());
        assertEquals(3, r.visible());
        r.put(v("k", 100, 5)); // the replay puts it again: held, not skipped as already there
        assertEquals(100, r.get("k").version());
    }

    @Test
    void positionsOnlyMoveForward() {
        RecentWrites r = new RecentWrites();
        r.acked(10);
        r.acked(7);
        r.visible(9);
        r.visible(3);
        assertEquals(10, r.acked());
        assertEquals(9, r.visible());
        r.reset(2);
        assertEquals(2, r.acked());
        assertEquals(0, r.size());
    }

    @Test
    void tokensRoundTripAndForeignTokensAreRefused() {
        for (long p : new long[] {0, 1, 35, 36, 1L << 40, Long.MAX_VALUE}) {
            assertEquals(p, Tokens.position(Tokens.of(p)));
        }
        assertThrows(ApiException.class, () -> Tokens.position("nope"));
        assertThrows(ApiException.class, () -> Tokens.position("p1.-5"));
        assertThrows(ApiException.class, () -> Tokens.position("p1.!!"));
        assertThrows(ApiException.class, () -> Tokens.position(null));
    }
}
