package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * A key that comes back into the window without a history of its own (evicted, or not replayed after a
 * restart) is rewritten by a transaction that read it current. The version it replaced must stay in the
 * history, so that a reader of that version can still be placed in the past (PartitionCertifier.apply
 * keeps the "base" version), instead of being refused as too old.
 */
class ColdKeyBaseVersionTest {

    private static Decision certify(Certifier c, Map<String, Long> store, TxnRequest t) {
        Decision d = c.certify(t);
        if (d.committed()) {
            for (int i = 0; i < t.writeCount(); i++) {
                store.put(t.writeKey(i), d.timestamp());
            }
        }
        return d;
    }

    @Test
    void aReaderOfTheVersionAColdKeysRewriteReplacedIsPlacedBeforeTheRewrite() {
        Map<String, Long> store = new HashMap<>();
        Certifier c = new Certifier(CertifierConfig.DEFAULT.withWindow(4, 1024), new Hlc(),
                k -> store.getOrDefault(k, 0L), false);
        long ta = certify(c, store, TxnRequest.blindWrite("a")).timestamp();
        for (int i = 0; i < 20; i++) { // push "a" out of the 4-key window
            certify(c, store, TxnRequest.blindWrite("k" + i));
        }
        assertEquals(-1, c.knownVersion("a"), "a was evicted");

        // X read a@ta (current) and rewrites it: a comes back into the window with ta as its base.
        Decision x = certify(c, store, TxnRequest.of(new String[] {"a"}, new long[] {ta}, "a"));
        assertTrue(x.committed() && !x.adjusted(), x.toString());

        // Y read a@ta too, concurrently with X: valid in [ta, x), so it is placed there.
        Decision y = c.certify(TxnRequest.of(new String[] {"a"}, new long[] {ta}));
        assertTrue(y.committed(), "a reader of the replaced version must not be refused: " + y);
        assertTrue(y.adjusted());
        assertTrue(y.timestamp() > ta && y.timestamp() < x.timestamp(), y.toString());
    }

    /** The same after a restart: a key the replay did not show, read at the store's version and rewritten. */
    @Test
    void afterARestartAReaderOfAnUnreplayedKeysReplacedVersionIsPlacedBeforeItsRewrite() {
        Map<String, Long> store = new HashMap<>();
        Certifier live = new Certifier(CertifierConfig.DEFAULT);
        long ta = certify(live, store, TxnRequest.blindWrite("a")).timestamp();

        Certifier c = new Certifier(CertifierConfig.DEFAULT, new Hlc(), k -> store.getOrDefault(k, 0L), false);
        c.beginRecovery(ta); // the store applied everything: nothing replayed
        c.endRecovery();
        Decision x = certify(c, store, TxnRequest.of(new String[] {"a"}, new long[] {ta}, "a"));
        assertTrue(x.committed(), x.toString());
        Decision y = c.certify(TxnRequest.of(new String[] {"a"}, new long[] {ta}));
        assertTrue(y.committed(), "a reader of the replaced version must not be refused: " + y);
        assertTrue(y.timestamp() > ta && y.timestamp() < x.timestamp(), y.toString());
        assertFalse(Hlc.isFresh(y.timestamp()));
    }
}
