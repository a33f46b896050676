package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** A failure in the middle of a multi-partition certification, on a certifier called directly. */
class TwoPhaseFailureTest {

    /**
     * Partition 0 votes and holds the key it writes; partition 1's vote then needs the store's version of
     * a cold key, and the lookup throws. The failure reaches the caller (CertifierLoop reports it and
     * rolls back), but partition 0 must not keep holding its key: it did, and every later transaction
     * writing it aborted PENDING_CONFLICT until the coordinator restarted.
     */
    @Test
    void aFailureBetweenTheVotesLetsGoOfTheKeysAlreadyHeld() {
        ColdVersions failing = key -> {
            throw new IllegalStateException("the store lookup failed");
        };
        Certifier c = new Certifier(CertifierConfig.DEFAULT.withPartitions(2).withWindow(2, 1), new Hlc(), failing, false);
        String held = keyIn(c, 0, 0);
        String cold = keyIn(c, 1, 0);
        long coldVersion = c.certify(TxnRequest.blindWrite(cold)).timestamp();
        for (int i = 1; i <= 3; i++) { // evict the cold key, and raise its bucket's floor past its version
            assertTrue(c.certify(TxnRequest.blindWrite(keyIn(c, 1, i))).committed());
        }

        TxnRequest readColdWriteHeld = TxnRequest.of(new String[] { cold }, new long[] { coldVersion }, held);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> c.certify(readColdWriteHeld));
        assertEquals("the store lookup failed", e.getMessage());

        Decision later = c.certify(TxnRequest.blindWrite(held));
        assertTrue(later.committed(), "the key partition 0 held is free again: " + later);
    }

    /** The {@code n}-th key (from 0) that {@code c} puts in partition {@code p}. */
    private static String keyIn(Certifier c, int p, int n) {
        for (int i = 0;; i++) {
            if (c.partitionOf("k" + i) == p && n-- == 0) {
                return "k" + i;
            }
        }
    }
}
