package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** One test per certification rule of DESIGN §3, on a certifier called directly. */
class CertifierRulesTest {

    static TxnRequest txn(String[] reads, long[] versions, String... writes) {
        return TxnRequest.of(reads, versions, writes);
    }

    static String[] keys(String... k) {
        return k;
    }

    static long[] vs(long... v) {
        return v;
    }

    private final Certifier adaptive = new Certifier(CertifierConfig.DEFAULT);

    private long write(Certifier c, String... keys) {
        Decision d = c.certify(TxnRequest.blindWrite(keys));
        assertTrue(d.committed(), d.toString());
        return d.timestamp();
    }

    @Test
    void aTransactionWhoseReadsAreCurrentCommitsAtAFreshTimestamp() {
        long t1 = write(adaptive, "a", "b");
        Decision d = adaptive.certify(txn(keys("a", "b"), vs(t1, t1), "c"));
        assertTrue(d.committed());
        assertFalse(d.adjusted());
        assertTrue(d.timestamp() > t1);
        assertTrue(Hlc.isFresh(d.timestamp()));
    }

    @Test
    void seedCase_aStaleReadStillCommitsInThePastWhenItsReadsWereValidTogether() {
        long t1 = write(adaptive, "a", "b");
        long t2 = write(adaptive, "a"); // overwrites what X is about to claim it read
        Decision x = adaptive.certify(txn(keys("a", "b"), vs(t1, t1), "c"));
        assertTrue(x.committed(), x.toString());
        assertTrue(x.adjusted());
        assertTrue(x.timestamp() > t1 && x.timestamp() < t2, "placed between the version read and the overwrite");
        assertFalse(Hlc.isFresh(x.timestamp()));
    }

    /**
     * Reading a key absent (version 0) that has been created since: with the key's whole history in the
     * window, absence is an overwritten version like any other, and the transaction is placed before the
     * first write instead of being refused as HISTORY_TOO_SHORT.
     */
    @Test
    void aReadOfAKeyAbsentThenCreatedCommitsBeforeItsFirstWrite() {
        long t0 = write(adaptive, "b");
        long created = write(adaptive, "new");
        Decision x = adaptive.certify(txn(keys("new", "b"), vs(0, t0), "c"));
        assertTrue(x.committed(), x.toString());
        assertTrue(x.adjusted());
        assertTrue(x.timestamp() > t0 && x.timestamp() < created, "placed while the key was still absent");
        // Once the history no longer reaches the key's creation, absence cannot be placed: too old.
        Certifier shallow = new Certifier(CertifierConfig.DEFAULT.withHistoryDepth(1));
        long first = write(shallow, "k");
        write(shallow, "k");
        Decision y = shallow.certify(txn(keys("k"), vs(0), "d"));
        assertFalse(y.committed());
        assertEquals(AbortReason.HISTORY_TOO_SHORT, y.reason(), "first write " + first + " no longer held");
    }

    @Test
    void basicPolicyAbortsTheSeedCaseWithStaleRead() {
        Certifier basic = new Certifier(CertifierConfig.DEFAULT.withPolicy(Policy.BASIC));
        long t1 = write(basic, "a", "b");
        write(basic, "a");
        Decision x = basic.certify(txn(keys("a", "b"), vs(t1, t1), "c"));
        assertFalse(x.committed());
        assertEquals(AbortReason.STALE_READ, x.reason());
        assertEquals(List.of("a"), x.conflicts());
    }

    @Test
    void aWriteMustComeAfterTheLastReadOfItsKey() {
        long t1 = write(adaptive, "a", "c");
        long t2 = write(adaptive, "a");
        // Y reads c (current) and commits at a fresh timestamp after t2: Tr(c) > t2.
        Decision y = adaptive.certify(txn(keys("c"), vs(t1)));
        assertTrue(y.committed() && y.timestamp() > t2);
        Decision x = adaptive.certify(txn(keys("a"), vs(t1), "c"));
        assertFalse(x.committed());
        assertEquals(AbortReason.WRITE_AFTER_READ, x.reason());
        assertEquals(List.of("c"), x.conflicts());
    }

    @Test
    void aWriteMustComeAfterTheLastWriteOfItsKey() {
        long t1 = write(adaptive, "a");
        write(adaptive, "a");
        write(adaptive, "c"); // c written after a's overwrite: X cannot go before it
        Decision x = adaptive.certify(txn(keys("a"), vs(t1), "c"));
        assertFalse(x.committed());
        assertEquals(AbortReason.WRITE_AFTER_WRITE, x.reason());
        assertEquals(List.of("c"), x.conflicts());
    }

    @Test
    void readsValidAtDisjointTimesAbortWithStaleRead() {
        long t1 = write(adaptive, "a");
        write(adaptive, "a"); // a@t1 valid in [t1, t2)
        long t3 = write(adaptive, "b"); // b@t3 valid from t3 > t2
        Decision x = adaptive.certify(txn(keys("a", "b"), vs(t1, t3), "z"));
        assertFalse(x.committed());
        assertEquals(AbortReason.STALE_READ, x.reason());
        assertEquals(List.of("a"), x.conflicts());
    }

    @Test
    void aVersionOlderThanTheHistoryHeldAbortsWithHistoryTooShort() {
        Certifier shortHistory = new Certifier(CertifierConfig.DEFAULT.withHistoryDepth(2));
        long t1 = write(shortHistory, "a");
        write(shortHistory, "a");
        write(shortHistory, "a");
        Decision x = shortHistory.certify(txn(keys("a"), vs(t1), "b"));
        assertFalse(x.committed());
        assertEquals(AbortReason.HISTORY_TOO_SHORT, x.reason());
    }

    @Test
    void aVersionThatWasNeverWrittenAbortsWithUnknownVersion() {
        long t1 = write(adaptive, "a");
        Decision x = adaptive.certify(txn(keys("a"), vs(t1 + 3), "b"));
        assertEquals(AbortReason.UNKNOWN_VERSION, x.reason());
        Decision y = adaptive.certify(txn(keys("never"), vs(42), "b"));
        assertEquals(AbortReason.UNKNOWN_VERSION, y.reason());
    }

    @Test
    void readingAnAbsentKeyAtVersionZeroIsCurrent() {
        Decision x = adaptive.certify(txn(keys("nobody"), vs(0), "nobody"));
        assertTrue(x.committed());
        assertFalse(x.adjusted());
    }

    @Test
    void adjustedTimestampsAreUniqueEvenInTheSameGap() {
        long t1 = write(adaptive, "a");
        write(adaptive, "a");
        long first = adaptive.certify(txn(keys("a"), vs(t1), "x1")).timestamp();
        long second = adaptive.certify(txn(keys("a"), vs(t1), "x2")).timestamp();
        assertTrue(first > t1 && second > t1);
        assertNotEquals(first, second);
    }

    @Test
    void anAdjustedCommitRaisesTheReadTimestampOfWhatItRead() {
        long t1 = write(adaptive, "a", "b");
        long t2 = write(adaptive, "a");
        Decision x = adaptive.certify(txn(keys("a", "b"), vs(t1, t1), "x"));
        assertTrue(x.adjusted());
        // Z read a@t1 too and wants to write b: it must be placed after X read b, still before t2.
        Decision z = adaptive.certify(txn(keys("a"), vs(t1), "b"));
        assertTrue(z.committed(), z.toString());
        assertTrue(z.timestamp() > x.timestamp() && z.timestamp() < t2);
    }

    @Test
    void evictedKeysAreJudgedByTheirBucketFloorWithoutAskingTheStore() {
        Map<String, Long> store = new HashMap<>();
        int[] lookups = {0};
        ColdVersions cold = k -> {
            lookups[0]++;
            return store.getOrDefault(k, 0L);
        };
        Certifier tiny = new Certifier(CertifierConfig.DEFAULT.withWindow(4, 1024), new Hlc(), cold, false);
        long ta = tiny.certify(TxnRequest.blindWrite("a")).timestamp();
        store.put("a", ta);
        for (int i = 0; i < 20; i++) { // push "a" out of the 4-key window
            store.put("k" + i, tiny.certify(TxnRequest.blindWrite("k" + i)).timestamp());
        }
        assertEquals(-1, tiny.knownVersion("a"), "a was evicted");
        Decision d = tiny.certify(txn(keys("a"), vs(ta), "a"));
        assertTrue(d.committed(), d.toString());
        assertEquals(0, lookups[0], "a alone in its bucket: the floor is exact");
    }

    /**
     * A cold lookup that cannot answer says UNKNOWN, which is -1: a read of version -1 (no API sends one,
     * but TxnRequest takes it) was compared with it first and certified as current.
     */
    @Test
    void aColdReadTheStoreCannotAnswerAbortsWhateverVersionItClaims() {
        Certifier c = new Certifier(CertifierConfig.DEFAULT.withWindow(2, 1), new Hlc(), ColdVersions.NONE, false);
        c.certify(TxnRequest.blindWrite("a"));
        for (int i = 0; i < 5; i++) {
            c.certify(TxnRequest.blindWrite("k" + i));
        }
        Decision d = c.certify(txn(keys("a"), vs(ColdVersions.UNKNOWN), "a"));
        assertEquals(AbortReason.HISTORY_TOO_SHORT, d.reason(), d.toString());
    }

    @Test
    void anAmbiguousColdReadIsSettledByTheStoreOrAbortsSafelyWithoutOne() {
        Map<String, Long> store = new HashMap<>();
        ColdVersions cold = k -> store.getOrDefault(k, 0L);
        // One bucket: every evicted key shares a floor, so floors cannot tell versions apart.
        CertifierConfig cfg = CertifierConfig.DEFAULT.withWindow(2, 1);
        Certifier withStore = new Certifier(cfg, new Hlc(), cold, false);
        Certifier without = new Certifier(cfg, new Hlc(), ColdVersions.NONE, false);
        for (Certifier c : List.of(withStore, without)) {
            store.clear();
            long ta = c.certify(TxnRequest.blindWrite("a")).timestamp();
            store.put("a", ta);
            for (int i = 0; i < 5; i++) {
                store.put("k" + i, c.certify(TxnRequest.blindWrite("k" + i)).timestamp());
            }
            Decision d = c.certify(txn(keys("a"), vs(ta), "a"));
            if (c == withStore) {
                assertTrue(d.committed(), d.toString());
                assertTrue(c.coldLookups() > 0);
            } else {
                assertEquals(AbortReason.HISTORY_TOO_SHORT, d.reason());
            }
        }
    }

    @Test
    void rollingBackABatchRestoresTheStateBeforeIt() {
        Certifier c = new Certifier(CertifierConfig.DEFAULT.withWindow(3, 4), new Hlc(), ColdVersions.NONE, true);
        long t1 = c.certify(TxnRequest.blindWrite("a", "b")).timestamp();
        c.release(c.mark());
        long mark = c.mark();
        assertTrue(c.certify(txn(keys("a"), vs(t1), "a", "c", "d", "e")).committed());
        assertTrue(c.certify(TxnRequest.blindWrite("f", "b")).committed());
        c.rollbackTo(mark);
        assertEquals(t1, c.knownVersion("a"), "the write to a is undone");
        assertEquals(t1, c.knownVersion("b"), "b is back in the window after its eviction is undone");
        assertEquals(-1, c.knownVersion("c"));
        // a@t1 is current again, so a transaction built on it commits without adjustment.
        Decision again = c.certify(txn(keys("a", "b"), vs(t1, t1), "a"));
        assertTrue(again.committed());
        assertFalse(again.adjusted());
    }

    @Test
    void aMultiPartitionTransactionIsPlacedInTheIntersectionOfEveryPartitionsInterval() {
        Certifier p4 = new Certifier(CertifierConfig.DEFAULT.withPartitions(4));
        String a = "a";
        String other = keyInAnotherPartition(p4, a);
        long t1 = write(p4, a, other);
        long t2 = write(p4, a);
        Decision x = p4.certify(txn(keys(a, other), vs(t1, t1), "out"));
        assertTrue(x.committed() && x.adjusted());
        assertTrue(x.timestamp() > t1 && x.timestamp() < t2);
        // The other partition recorded X's read: a writer of `other` can no longer go before X.
        Decision y = p4.certify(txn(keys(a), vs(t1), other));
        assertTrue(y.committed());
        assertTrue(y.timestamp() > x.timestamp());
    }

    /**
     * Both partitions prepare (and hold their keys), then no timestamp fits both intervals: the
     * transaction aborts, and every partition must let go of its keys, or every later transaction on
     * them aborts with PENDING_CONFLICT forever.
     */
    @Test
    void aMultiPartitionTransactionThatFindsNoTimestampReleasesTheKeysItHeld() {
        Certifier p4 = new Certifier(CertifierConfig.DEFAULT.withPartitions(4));
        String a = "a";
        String other = keyInAnotherPartition(p4, a);
        long t1 = write(p4, a, other);
        long t2 = write(p4, a);     // a@t1 valid in [t1, t2)
        long t3 = write(p4, other); // other@t3 valid from t3 > t2
        assertTrue(t2 > t1 && t3 > t2);
        Decision x = p4.certify(txn(keys(a, other), vs(t1, t3), "out"));
        assertFalse(x.committed());
        assertEquals(AbortReason.STALE_READ, x.reason());

        Decision w = p4.certify(TxnRequest.blindWrite(a, other));
        assertTrue(w.committed(), "the aborted transaction's keys are free again: " + w);
        Decision r = p4.certify(txn(keys(a, other), vs(w.timestamp(), w.timestamp()), "out"));
        assertTrue(r.committed(), r.toString());
    }

    /** A key that {@code c} puts in another partition than {@code key}'s. */
    private static String keyInAnotherPartition(Certifier c, String key) {
        for (int i = 0;; i++) {
            if (c.partitionOf("k" + i) != c.partitionOf(key)) {
                return "k" + i;
            }
        }
    }

    @Test
    void aPreparedTransactionHoldsItsKeysUntilDecided() {
        UndoLog undo = new UndoLog(false);
        PartitionCertifier p = new PartitionCertifier(0, CertifierConfig.DEFAULT, ColdVersions.NONE, undo);
        Vote v = p.prepare(1, TxnRequest.of(keys("r"), vs(0), "w"), Policy.ADAPTIVE);
        assertFalse(v.refused());
        assertEquals(AbortReason.PENDING_CONFLICT, p.evaluate(TxnRequest.blindWrite("r"), Policy.ADAPTIVE).reason());
        assertEquals(AbortReason.PENDING_CONFLICT, p.evaluate(TxnRequest.of(keys("w"), vs(0)), Policy.ADAPTIVE).reason());
        assertFalse(p.evaluate(TxnRequest.of(keys("r"), vs(0)), Policy.ADAPTIVE).refused(), "readers of a read key are fine");
        p.abort(1);
        assertFalse(p.evaluate(TxnRequest.blindWrite("r", "w"), Policy.ADAPTIVE).refused());
    }

    /**
     * W is placed in the past at a timestamp the restart forgets (its message is in the store, not
     * replayed); a read-only transaction placed in the past after the restart must not get it again.
     */
    @Test
    void aTimestampPlacedInThePastBeforeARestartIsNotHandedOutAgainAfterIt() {
        Map<String, Long> store = new HashMap<>();
        Certifier live = new Certifier(CertifierConfig.DEFAULT);
        long f1 = live.certify(TxnRequest.blindWrite("a")).timestamp();
        Decision w = live.certify(txn(keys("a"), vs(0), "b")); // read a as absent: placed before f1
        assertTrue(w.committed() && w.adjusted(), "placed in the past");
        store.put("a", f1);
        store.put("b", w.timestamp());

        Certifier recovered = new Certifier(CertifierConfig.DEFAULT, new Hlc(), k -> store.getOrDefault(k, 0L), false);
        recovered.beginRecovery(f1); // the store applied everything: nothing to replay
        recovered.endRecovery();
        long x = recovered.certify(txn(keys("c"), vs(0), "c")).timestamp(); // the store says c is absent: current
        store.put("c", x);
        Decision r = recovered.certify(txn(keys("c"), vs(0))); // read-only, c read as absent: stale, placed before x
        assertTrue(r.committed() && r.adjusted(), "placed in the past, between the restart and x: " + r);
        assertTrue(r.timestamp() > f1, "not at or below what the restart forgot (W holds " + w.timestamp() + "): " + r);
    }

    @Test
    void recoveryFromTheLogTakesReadTimestampsConservatively() {
        Map<String, Long> store = new HashMap<>();
        Certifier live = new Certifier(CertifierConfig.DEFAULT);
        long t1 = live.certify(TxnRequest.blindWrite("a", "b")).timestamp();
        long t2 = live.certify(TxnRequest.blindWrite("a")).timestamp();
        long t3 = live.certify(TxnRequest.blindWrite("c")).timestamp();
        store.put("a", t2);
        store.put("b", t1);
        store.put("c", t3);

        Certifier recovered = new Certifier(CertifierConfig.DEFAULT, new Hlc(), k -> store.getOrDefault(k, 0L), false);
        recovered.beginRecovery(0);
        recovered.replay(t1, "a", "b");
        recovered.replay(t2, "a");
        recovered.replay(t3, "c");
        recovered.endRecovery();
        assertEquals(t2, recovered.knownVersion("a"));
        assertTrue(recovered.certify(txn(keys("a", "b"), vs(t2, t1), "b")).committed(), "current reads commit");
        // Before the restart this would have been placed in (t1, t2); now every Tr is the log's
        // high-water mark, so a write placed in the past is refused.
        Decision stale = recovered.certify(txn(keys("a"), vs(t1), "c"));
        assertFalse(stale.committed());
        assertTrue(recovered.clock().next() > t3);
    }
}
