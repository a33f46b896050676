package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

class HlcTest {

    @Test
    void freshTimestampsStrictlyIncreaseAndLeaveRoomBetween() {
        Hlc hlc = new Hlc();
        long prev = 0;
        for (int i = 0; i < 100_000; i++) {
            long t = hlc.next();
            assertTrue(t > prev, "monotonic");
            assertTrue(Hlc.isFresh(t), "gap bits are zero so adjusted timestamps fit between");
            assertTrue(t - prev >= Hlc.GAP || prev == 0);
            prev = t;
        }
    }

    @Test
    void aWallClockGoingBackwardsNeverMakesTimestampsGoBackwards() {
        AtomicLong wall = new AtomicLong(1_700_000_000_000L);
        Hlc hlc = new Hlc(wall::get);
        long a = hlc.next();
        wall.addAndGet(-5_000);
        long b = hlc.next();
        assertTrue(b > a);
        assertEquals(1_700_000_000_000L, Hlc.toUnixMillis(b));
    }

    @Test
    void observingTheLogHighWaterMarkKeepsARestartedClockAheadOfIt() {
        AtomicLong wall = new AtomicLong(1_700_000_000_000L);
        long fromLog = Hlc.fromUnixMillis(1_700_000_009_000L) + 7 * Hlc.GAP;
        Hlc restarted = new Hlc(wall::get);
        restarted.observe(fromLog);
        assertTrue(restarted.next() > fromLog);
    }

    @Test
    void timestampsAreUniqueAcrossThreads() throws Exception {
        Hlc hlc = new Hlc();
        int threads = 4;
        int per = 50_000;
        long[][] out = new long[threads][per];
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            final int id = t;
            ts[t] = new Thread(() -> {
                for (int i = 0; i < per; i++) {
                    out[id][i] = hlc.next();
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) {
            t.join();
        }
        java.util.HashSet<Long> all = new java.util.HashSet<>();
        for (long[] o : out) {
            for (long v : o) {
                assertTrue(all.add(v), "duplicate timestamp " + v);
            }
        }
    }
}
