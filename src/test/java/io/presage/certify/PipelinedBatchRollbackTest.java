package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Group commit pipelines batches: batch A is made durable ({@code release(markAfterA)}) while batch B,
 * certified after it, is still being published; B's publish then fails ({@code rollbackTo(markBeforeB)}).
 * The rollback must take back exactly B, whose undo records sit behind the released ones, and keep A.
 */
class PipelinedBatchRollbackTest {

    private static long commit(Certifier c, TxnRequest t) {
        Decision d = c.certify(t);
        assertTrue(d.committed(), d.toString());
        return d.timestamp();
    }

    @Test
    void rollingBackABatchAfterReleasingTheOneBeforeItUndoesOnlyTheLaterBatch() {
        Certifier c = new Certifier(CertifierConfig.DEFAULT, new Hlc(), ColdVersions.NONE, true);
        long t1 = commit(c, TxnRequest.blindWrite("a", "b", "c"));
        c.release(c.mark());

        long markA = c.mark();
        long ta = commit(c, TxnRequest.of(new String[] {"b"}, new long[] {t1}, "a", "n1", "n2"));
        long markB = c.mark();
        assertTrue(markB > markA);
        long tb = commit(c, TxnRequest.of(new String[] {"c"}, new long[] {t1}, "b", "c", "n3"));

        c.release(markB); // A is durable
        c.rollbackTo(markB); // B's publish failed

        assertEquals(ta, c.knownVersion("a"), "A's write stays");
        assertEquals(ta, c.knownVersion("n1"));
        assertEquals(ta, c.knownVersion("n2"));
        assertEquals(t1, c.knownVersion("b"), "B's write is undone");
        assertEquals(t1, c.knownVersion("c"));
        assertEquals(-1, c.knownVersion("n3"));
        assertTrue(tb > ta);
        // The state is exactly "after A": a transaction built on it commits at a fresh timestamp.
        Decision again = c.certify(TxnRequest.of(new String[] {"a", "b", "c"}, new long[] {ta, t1, t1}, "b"));
        assertTrue(again.committed() && !again.adjusted(), again.toString());
    }

    /**
     * A key whose last write is not durable yet is pinned in the window (its eviction could not be
     * undone); released, it can go again. If releases did not unpin, the window would outgrow its
     * bound by one key per commit, for good.
     */
    @Test
    void releasedCommitsLetTheWindowEvictSoItStaysWithinItsBound() {
        int windowKeys = 64;
        Certifier c = new Certifier(CertifierConfig.DEFAULT.withWindow(windowKeys, 1024), new Hlc(), ColdVersions.NONE, true);
        for (int i = 0; i < 5_000; i++) {
            commit(c, TxnRequest.blindWrite("k" + i));
            c.release(c.mark()); // group commit: the message is acknowledged
        }
        assertTrue(c.windowSize() <= windowKeys, "window of " + c.windowSize() + " keys, bound " + windowKeys);
    }
}
