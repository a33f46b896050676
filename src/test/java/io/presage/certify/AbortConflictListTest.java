package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

/** An abort's conflict list is its own: the certifier's reused scratch vote carries nothing over. */
class AbortConflictListTest {

    private static long write(Certifier c, String... keys) {
        Decision d = c.certify(TxnRequest.blindWrite(keys));
        assertTrue(d.committed(), d.toString());
        return d.timestamp();
    }

    @Test
    void eachAbortNamesOnlyItsOwnConflictingKeys() {
        Certifier c = new Certifier(CertifierConfig.DEFAULT);
        long t1 = write(c, "a");
        Decision x = c.certify(TxnRequest.of(new String[] {"never"}, new long[] {42}, "z"));
        assertEquals(AbortReason.UNKNOWN_VERSION, x.reason());
        assertEquals(List.of("never"), x.conflicts());
        Decision y = c.certify(TxnRequest.of(new String[] {"a"}, new long[] {t1 + 3}, "z"));
        assertEquals(AbortReason.UNKNOWN_VERSION, y.reason());
        assertEquals(List.of("a"), y.conflicts(), "not the keys of the abort before it");
    }
}
