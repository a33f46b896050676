package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * Review addition, a characterisation (passes on the current code): DESIGN §5 says "every prefix a
 * reader can see is a consistent state". With adaptive certification it is atomic, not serial: a
 * transaction placed in the past is logged after transactions it precedes in timestamp order, so the
 * state after a log prefix can be one that no serial order of the committed transactions ever holds.
 * The README's batch-read row says so; DESIGN §5 does not. A reader who wants a serial state must
 * certify its reads as a read-only transaction — which this test also shows is refused for that state.
 */
class LogPrefixStateTest {

    @Test
    void theStateAfterALogPrefixNeedNotBeAStateOfTheSerialOrder() {
        Certifier c = new Certifier(CertifierConfig.DEFAULT);
        // X reads a (absent) and will write b; before it is certified, W writes a.
        Decision w = c.certify(TxnRequest.blindWrite("a"));
        Decision x = c.certify(TxnRequest.of(new String[] {"a"}, new long[] {0}, "b"));
        assertTrue(w.committed() && x.committed());
        assertTrue(x.adjusted() && x.timestamp() < w.timestamp(), "X is placed before W, but logged after it");

        // Log order: W, X. After the prefix [W] a reader (a batch read, a mirror) sees a@W, b absent.
        Map<String, Long> afterW = Map.of("a", w.timestamp(), "b", 0L);
        // Serial (timestamp) order: X then W. Its states: {}, {b@X}, {b@X, a@W}: none is afterW.
        List<Map<String, Long>> serialStates = List.of(
                Map.of("a", 0L, "b", 0L),
                Map.of("a", 0L, "b", x.timestamp()),
                Map.of("a", w.timestamp(), "b", x.timestamp()));
        for (Map<String, Long> s : serialStates) {
            assertFalse(s.equals(afterW));
        }
        // And no other serial order will do: X read a before W wrote it (X before W), the reader saw W's
        // a (after W) and not X's b (before X): W < reader < X < W.

        // Certified, that view is refused, as it must be.
        Map<String, Long> reads = new HashMap<>(afterW);
        Decision r = c.certify(TxnRequest.of(reads.keySet().toArray(String[]::new),
                reads.values().stream().mapToLong(Long::longValue).toArray()));
        assertFalse(r.committed(), "a read-only transaction of the log-prefix state must abort");
        assertEquals(AbortReason.STALE_READ, r.reason());
    }
}
