package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * A timestamp placed in the past that the recovery replays from the log is taken: after the restart
 * no other transaction may be placed at it, or two transactions would share one place in the order.
 */
class RecoveredAdjustedTimestampsTest {

    @Test
    void anAdjustedTimestampReplayedFromTheLogIsNotHandedOutAgain() {
        Certifier live = new Certifier(CertifierConfig.DEFAULT);
        long t1 = live.certify(TxnRequest.blindWrite("a")).timestamp();
        long t2 = live.certify(TxnRequest.blindWrite("a")).timestamp();
        Decision w = live.certify(TxnRequest.of(new String[] {"a"}, new long[] {t1}, "w"));
        assertTrue(w.committed() && w.adjusted(), w.toString());

        Certifier recovered = new Certifier(CertifierConfig.DEFAULT);
        recovered.beginRecovery(0); // nothing applied by the store: the whole log is replayed
        recovered.replay(t1, "a");
        recovered.replay(t2, "a");
        recovered.replay(w.timestamp(), "w");
        recovered.endRecovery();

        // Y read a@t1 too: placed in (t1, t2), like W, but not at W's timestamp.
        Decision y = recovered.certify(TxnRequest.of(new String[] {"a"}, new long[] {t1}));
        assertTrue(y.committed() && y.adjusted(), y.toString());
        assertTrue(y.timestamp() > t1 && y.timestamp() < t2, y.toString());
        assertNotEquals(w.timestamp(), y.timestamp(), "W's timestamp, replayed from the log, was handed out again");
    }
}
