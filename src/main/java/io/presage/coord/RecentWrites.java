package io.presage.coord;

import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

import io.presage.log.PositionWaiters;

/**
 * The values of acknowledged commits that the coordinator's own applier has not yet made durable
 * in PostgreSQL (DESIGN §5). Reads look here first, so every acknowledged commit is visible at
 * once; versions go when the applier has applied their log sequence. Memory is bounded by the
 * apply lag, not by the data size.
 *
 * <h2>Reading several keys at one position</h2>
 * A batch read must see the state after some log sequence P — all commits up to P, none after.
 * Each key keeps its recent versions (newest first), so a reader can take, per key, the newest
 * version at or before P. The rest comes from the store's snapshot at its applied sequence A ≤ P.
 * That is only complete if nothing in (A, P] was evicted in between: {@link #evictedUpTo()} tells
 * the reader, which then simply reads again.
 */
public final class RecentWrites {

    /** A committed version: {@code valueJson} null means deleted. */
    public record Version(String key, byte[] valueJson, long version, long sequence, Map<String, Long> vclock) {
        public boolean deleted() {
            return valueJson == null;
        }
    }

    private static final Version[] NONE = new Version[0];

    /** Estimated heap per version besides its key's characters and value's bytes (the record, a clock, a slot). */
    static final int VERSION_OVERHEAD = 160;

    private final ConcurrentHashMap<String, Version[]> byKey = new ConcurrentHashMap<>();
    /**
     * Every version put, in the order it was put (acks come in log order, so nearly in sequence
     * order): eviction visits only the keys written since it last ran, not the whole map, whose
     * size is the apply lag. A version behind a newer one stays a little longer; that costs only
     * memory, because evicting a key trims every applied version of it at once.
     */
    private final ConcurrentLinkedQueue<Version> toEvict = new ConcurrentLinkedQueue<>();
    /** Σ {@link #cost} of the versions held. */
    private final java.util.concurrent.atomic.LongAdder bytes = new java.util.concurrent.atomic.LongAdder();
    private volatile long evictedUpTo;
    private final java.util.concurrent.atomic.AtomicLong acked = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong visible = new java.util.concurrent.atomic.AtomicLong();
    private final PositionWaiters waiters = new PositionWaiters(visible::get);

    /** Called before a message's versions are put: tokens handed out after a read cover them. */
    public void acked(long sequence) {
        acked.accumulateAndGet(sequence, Math::max);
    }

    /** Called after a message's versions are all put: a batch read may use this position. */
    public void visible(long sequence) {
        waiters.advanced(visible.accumulateAndGet(sequence, Math::max));
    }

    /** Completes once {@link #visible()} is at least {@code sequence}; {@link #cancelAwait} it when giving up. */
    public CompletableFuture<Void> awaitVisible(long sequence) {
        return waiters.await(sequence);
    }

    public void cancelAwait(long sequence, CompletableFuture<Void> f) {
        waiters.cancel(sequence, f);
    }

    /** Highest acknowledged log sequence. */
    public long acked() {
        return acked.get();
    }

    /** Every version of every message up to this sequence is here (or already applied). */
    public long visible() {
        return visible.get();
    }

    /**
     * The newest version of a key, or null when the store has it (or has nothing newer here). A
     * version the applier has passed is not answered even while it is still held (eviction is
     * lazy): the store holds it or a newer one, and the caller reads there.
     */
    public Version get(String key) {
        Version[] chain = byKey.get(key);
        return chain == null || chain.length == 0 ? null : unapplied(chain[0]);
    }

    /** The newest version of a key written at or before log sequence {@code position}, or null (as {@link #get}). */
    public Version at(String key, long position) {
        Version[] chain = byKey.getOrDefault(key, NONE);
        for (Version v : chain) {
            if (v.sequence() <= position) {
                return unapplied(v);
            }
        }
        return null;
    }

    private Version unapplied(Version v) {
        return v.sequence() > evictedUpTo ? v : null;
    }

    /**
     * Records a version; the chain stays ordered newest first whatever order acks are handled in. A
     * version already here (same version and log sequence: a resync replaying the log) is not added again.
     */
    public void put(Version v) {
        boolean[] added = {false};
        byKey.compute(v.key(), (k, chain) -> {
            if (chain == null) {
                added[0] = true;
                return new Version[] {v};
            }
            for (Version c : chain) {
                if (c.version() == v.version() && c.sequence() == v.sequence()) {
                    return chain;
                }
            }
            added[0] = true;
            Version[] out = Arrays.copyOf(chain, chain.length + 1);
            int i = out.length - 1;
            while (i > 0 && out[i - 1].version() < v.version()) {
                out[i] = out[i - 1];
                i--;
            }
            out[i] = v;
            return out;
        });
        if (added[0]) {
            bytes.add(cost(v));
            toEvict.add(v);
            // The applier may have applied this message before its ack got here. Evicting sets
            // evictedUpTo before it drains the queue and this reads it after the add, so one of the
            // two trims the version: otherwise it would stay, older than the store's, as the key's newest.
            long upTo = evictedUpTo;
            if (v.sequence() <= upTo) {
                byKey.computeIfPresent(v.key(), (k, chain) -> trimApplied(chain, upTo));
            }
        }
    }

    /** Drops every version the store now holds durably (its sequence is applied). */
    public void evictApplied(long appliedSequence) {
        if (appliedSequence <= evictedUpTo) {
            return;
        }
        evictedUpTo = appliedSequence; // before removing: a reader that sees the old value reads again
        for (Version head = toEvict.peek(); head != null && head.sequence() <= appliedSequence; head = toEvict.peek()) {
            toEvict.poll();
            byKey.computeIfPresent(head.key(), (k, chain) -> trimApplied(chain, appliedSequence));
        }
    }

    /** The chain without its versions at or before {@code appliedSequence} (null: none left). */
    private Version[] trimApplied(Version[] chain, long appliedSequence) {
        int keep = 0;
        while (keep < chain.length && chain[keep].sequence() > appliedSequence) {
            keep++;
        }
        for (int i = keep; i < chain.length; i++) {
            bytes.add(-cost(chain[i]));
        }
        return keep == 0 ? null : keep == chain.length ? chain : Arrays.copyOf(chain, keep);
    }

    public long evictedUpTo() {
        return evictedUpTo;
    }

    public int size() {
        return byKey.size();
    }

    /** Estimated heap the versions held take: what the apply lag costs in memory. */
    public long bytes() {
        return bytes.sum();
    }

    /** A version's estimated heap: {@link #VERSION_OVERHEAD}, its key's characters, its value's bytes. */
    static long cost(Version v) {
        return VERSION_OVERHEAD + v.key().length() + (v.valueJson() == null ? 0 : v.valueJson().length);
    }

    /** How many versions of {@code key} are held. */
    int versions(String key) {
        return byKey.getOrDefault(key, NONE).length;
    }

    /** Forget everything and start again from a recovered log position. */
    public void reset(long sequence) {
        byKey.clear();
        toEvict.clear();
        bytes.reset();
        acked.set(sequence);
        visible.set(sequence);
        waiters.advanced(sequence);
    }
}
