package io.presage.certify;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Certifies transactions (see {@code package-info}). Single-writer: one thread calls it — the
 * {@link CertifierLoop} in the service, the test or benchmark thread otherwise. Nothing here blocks
 * or locks; per-key work touches only that key's state.
 *
 * <p>Keys hash to partitions, each with its own state. A transaction inside one partition is
 * certified in one step; one spanning several is certified in two phases over
 * {@link PartitionMaster}s: every partition votes an interval and holds the keys, one timestamp is
 * chosen in the intersection (or the transaction aborts everywhere), then every partition records it.
 */
public final class Certifier {
    private final CertifierConfig config;
    private final Hlc clock;
    private final PartitionCertifier[] partitions;
    private final PartitionMaster[] masters;
    private final AdjustedTimestamps adjusted;
    private final UndoLog undo;
    private final CertifierStats stats = new CertifierStats();
    private final Vote merged = new Vote();
    /** Scratch of the two-phase path (single writer): the votes of one transaction, per-partition counts. */
    private final List<Vote> votes = new ArrayList<>();
    private final int[] readCounts;
    private final int[] writeCounts;
    private long nextTxnId = 1;

    public Certifier(CertifierConfig config) {
        this(config, new Hlc(), ColdVersions.NONE, false);
    }

    /**
     * @param undoable keep an undo log so that {@link #rollbackTo} can take back certified batches
     *                 (the coordinator's group commit); off, the hot path records nothing
     */
    public Certifier(CertifierConfig config, Hlc clock, ColdVersions cold, boolean undoable) {
        this.config = config;
        this.clock = clock;
        this.undo = new UndoLog(undoable);
        this.adjusted = new AdjustedTimestamps(config.adjustedWindow());
        this.partitions = new PartitionCertifier[config.partitions()];
        this.masters = new PartitionMaster[partitions.length];
        this.readCounts = new int[partitions.length];
        this.writeCounts = new int[partitions.length];
        for (int i = 0; i < partitions.length; i++) {
            partitions[i] = new PartitionCertifier(i, config, cold, undo);
            masters[i] = local(partitions[i]);
        }
    }

    public CertifierConfig config() {
        return config;
    }

    public Hlc clock() {
        return clock;
    }

    public CertifierStats stats() {
        return stats;
    }

    /** The partition a key belongs to. */
    public int partitionOf(String key) {
        return partitionOfHash(key.hashCode());
    }

    /** The partition of a key whose {@code String.hashCode} is {@code hash}. */
    private int partitionOfHash(int hash) {
        if (partitions.length == 1) {
            return 0;
        }
        int h = hash * 0x85EBCA6B;
        return Math.floorMod(h ^ (h >>> 13), partitions.length);
    }

    public Decision certify(TxnRequest txn) {
        final Decision d = partitions.length == 1 ? onePhase(partitions[0], txn) : routed(txn);
        stats.count(d);
        return d;
    }

    private Decision routed(TxnRequest txn) {
        int first = -1;
        boolean single = true;
        for (int h : txn.readHashes) {
            int p = partitionOfHash(h);
            if (first < 0) {
                first = p;
            } else if (p != first) {
                single = false;
            }
        }
        for (int h : txn.writeHashes) {
            int p = partitionOfHash(h);
            if (first < 0) {
                first = p;
            } else if (p != first) {
                single = false;
            }
        }
        if (first < 0) {
            return Decision.commit(clock.next(), false); // empty transaction
        }
        return single ? onePhase(partitions[first], txn) : twoPhase(txn);
    }

    private Decision onePhase(PartitionCertifier p, TxnRequest txn) {
        final Vote v = p.evaluate(txn, config.policy());
        if (v.refused()) {
            return Decision.abort(v.reason(), v.conflicts());
        }
        final long ts = choose(v);
        if (ts < 0) {
            return explainAbort(v, List.of(v));
        }
        p.apply(txn, v, ts);
        return Decision.commit(ts, !v.allCurrent());
    }

    private Decision twoPhase(TxnRequest txn) {
        final long txnId = nextTxnId++;
        final TxnRequest[] slices = split(txn);
        // Every master here is local: let them all start loading their keys before the first votes.
        for (int p = 0; p < slices.length; p++) {
            if (slices[p] != null) {
                partitions[p].prefetch(slices[p]);
            }
        }
        try {
            return prepareAndDecide(txnId, txn, slices);
        } catch (RuntimeException e) {
            // A failure between the votes (a cold lookup that throws, a bug) would leave the partitions
            // that had voted holding their keys, and every later transaction on them would abort
            // PENDING_CONFLICT for good. Let go of them all (a partition not holding this id ignores
            // it); the caller takes back the rest of the state (CertifierLoop rolls back).
            for (int p = 0; p < slices.length; p++) {
                if (slices[p] != null) {
                    master(p).abort(txnId);
                }
            }
            throw e;
        }
    }

    private Decision prepareAndDecide(long txnId, TxnRequest txn, TxnRequest[] slices) {
        final List<Vote> votes = this.votes;
        votes.clear();
        final Vote m = merged;
        m.reset(txn);
        Decision refusal = null;
        for (int p = 0; p < slices.length && refusal == null; p++) {
            if (slices[p] == null) {
                continue;
            }
            final Vote v = master(p).prepare(txnId, slices[p], config.policy());
            votes.add(v);
            if (v.refused()) {
                refusal = Decision.abort(v.reason(), v.conflicts());
                break;
            }
            m.readLo = Math.max(m.readLo, v.readLo);
            m.writeLo = Math.max(m.writeLo, v.writeLo);
            m.hi = Math.min(m.hi, v.hi);
            m.allCurrent &= v.allCurrent;
        }
        final long ts = refusal == null ? choose(m) : -1;
        for (int p = 0; p < slices.length; p++) {
            if (slices[p] == null) {
                continue;
            }
            if (ts >= 0) {
                master(p).commit(txnId, ts);
            } else {
                master(p).abort(txnId);
            }
        }
        if (refusal != null) {
            return refusal;
        }
        return ts >= 0 ? Decision.commit(ts, !m.allCurrent) : explainAbort(m, votes);
    }

    /** The commit timestamp for an interval, or -1: fresh when every read is current, else the smallest free one in the past. */
    private long choose(Vote v) {
        if (v.allCurrent) {
            return clock.next(); // above every timestamp issued, so above every bound
        }
        final long t = adjusted.claim(v.lowerBound(), v.upperBound());
        if (t >= 0) {
            undo.record(UndoLog.CLAIM, adjusted, t, 0, 0);
        }
        return t;
    }

    private static Decision explainAbort(Vote merged, List<Vote> votes) {
        final List<String> keys = new ArrayList<>();
        AbortReason reason = null;
        for (Vote v : votes) {
            AbortReason r = v.explain(merged.hi, merged.readLo, keys);
            if (reason == null && r != null) {
                reason = r;
            }
        }
        return Decision.abort(reason == null ? AbortReason.NO_FREE_TIMESTAMP : reason, keys);
    }

    private TxnRequest[] split(TxnRequest txn) {
        final int n = partitions.length;
        final int[] reads = readCounts;
        final int[] writes = writeCounts;
        Arrays.fill(reads, 0);
        Arrays.fill(writes, 0);
        for (int h : txn.readHashes) {
            reads[partitionOfHash(h)]++;
        }
        for (int h : txn.writeHashes) {
            writes[partitionOfHash(h)]++;
        }
        final TxnRequest[] slices = new TxnRequest[n];
        final String[][] rk = new String[n][];
        final long[][] rv = new long[n][];
        final int[][] rh = new int[n][];
        final String[][] wk = new String[n][];
        final int[][] wh = new int[n][];
        for (int p = 0; p < n; p++) {
            rk[p] = new String[reads[p]];
            rv[p] = new long[reads[p]];
            rh[p] = new int[reads[p]];
            wk[p] = new String[writes[p]];
            wh[p] = new int[writes[p]];
            reads[p] = 0;
            writes[p] = 0;
        }
        for (int i = 0; i < txn.readKeys.length; i++) {
            int p = partitionOfHash(txn.readHashes[i]);
            rk[p][reads[p]] = txn.readKeys[i];
            rh[p][reads[p]] = txn.readHashes[i];
            rv[p][reads[p]++] = txn.readVersions[i];
        }
        for (int i = 0; i < txn.writeKeys.length; i++) {
            int p = partitionOfHash(txn.writeHashes[i]);
            wk[p][writes[p]] = txn.writeKeys[i];
            wh[p][writes[p]++] = txn.writeHashes[i];
        }
        for (int p = 0; p < n; p++) {
            if (rk[p].length + wk[p].length > 0) {
                slices[p] = new TxnRequest(rk[p], rv[p], rh[p], wk[p], wh[p]);
            }
        }
        return slices;
    }

    private PartitionMaster master(int p) {
        return masters[p];
    }

    private static PartitionMaster local(PartitionCertifier pc) {
        return new PartitionMaster() {
            @Override
            public Vote prepare(long txnId, TxnRequest slice, Policy policy) {
                return pc.prepare(txnId, slice, policy);
            }

            @Override
            public void commit(long txnId, long timestamp) {
                pc.commit(txnId, timestamp);
            }

            @Override
            public void abort(long txnId) {
                pc.abort(txnId);
            }
        };
    }

    // ---- undo (group commit) ----------------------------------------------------------------

    /** True when this certifier keeps an undo log ({@link #rollbackTo} works). */
    public boolean undoable() {
        return undo.enabled();
    }

    /** A position before the next certification, for {@link #rollbackTo} and {@link #release}. */
    public long mark() {
        return undo.mark();
    }

    /** Takes back, newest first, every commit certified after {@code mark} (their publish failed). */
    public void rollbackTo(long mark) {
        if (!undo.enabled()) {
            throw new IllegalStateException("this certifier keeps no undo log");
        }
        undo.rollbackTo(mark);
    }

    /** Commits up to {@code mark} are durable: their undo records can go. */
    public void release(long mark) {
        undo.release(mark);
    }

    // ---- recovery ---------------------------------------------------------------------------

    /**
     * Starts rebuilding from the log. {@code baseTimestamp} bounds every write the replay will not
     * show (those before its first message; 0 when replaying the whole log): keys not replayed get
     * it as their floor, and the store is asked ({@link ColdVersions}) when that is not precise enough.
     * Timestamps placed in the past are handed out only above the clock from here on: those the
     * transactions not replayed took are not known one by one.
     */
    public void beginRecovery(long baseTimestamp) {
        for (PartitionCertifier p : partitions) {
            p.window.raiseAllTw(baseTimestamp);
        }
        clock.observe(baseTimestamp);
        adjusted.raiseFloor(clock.current());
    }

    /** Replays one committed transaction's writes, in log order. */
    public void replay(long timestamp, String... writeKeys) {
        for (String k : writeKeys) {
            partitions[partitionOf(k)].replayWrite(k, timestamp);
        }
        adjusted.observe(timestamp);
        clock.observe(timestamp);
    }

    /**
     * Ends the rebuild. The log does not carry read sets, so every key's {@code Tr} is taken to be
     * the high-water mark: no later transaction may be placed before it on any key it writes, which
     * is conservative (possibly more aborts right after a restart, never a wrong commit).
     */
    public void endRecovery() {
        final long hwm = clock.current();
        for (PartitionCertifier p : partitions) {
            p.window.raiseAllTr(hwm);
        }
        undo.release(undo.mark());
    }

    // ---- introspection ----------------------------------------------------------------------

    /** Exact current version of a key whose metadata is in the window, else -1. */
    public long knownVersion(String key) {
        return partitions[partitionOf(key)].knownVersion(key);
    }

    public long windowSize() {
        long n = 0;
        for (PartitionCertifier p : partitions) {
            n += p.window.size();
        }
        return n;
    }

    public long coldLookups() {
        long n = 0;
        for (PartitionCertifier p : partitions) {
            n += p.coldLookups;
        }
        return n;
    }

    public long evictions() {
        long n = 0;
        for (PartitionCertifier p : partitions) {
            n += p.window.evictions;
        }
        return n;
    }

    /** Test-only: break the rule that a write must come after the key's last read. */
    void injectFaultSkipTrCheck() {
        for (PartitionCertifier p : partitions) {
            p.faultSkipTrCheck = true;
        }
    }
}
