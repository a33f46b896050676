package io.presage.apply;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;


/**
 * A node's bounded read cache in front of PostgreSQL, kept coherent with the applied log (used by
 * the mirror for all local reads and by the coordinator beside its recent writes).
 *
 * <h2>Invariant</h2>
 * Every entry is the key's state in the store <em>at {@link #position()}</em>: its latest applied
 * version (a tombstone for a deletion), or "absent" (a negative entry). So any set of entries read
 * together with the position is a consistent prefix of the log, and a reader never sees half a
 * transaction.
 *
 * <h2>How it holds</h2>
 * <ul>
 * <li>The applier, after each database commit, updates the entries of the keys it wrote and moves the
 *     position in one critical section bracketed by a sequence counter ({@code stamp}, odd while it
 *     runs). Readers take no lock: they read the stamp, the position and the entries, and retry if
 *     the stamp moved (a seqlock). All of it is volatile (the stamp, the position, and the values of a
 *     {@link ConcurrentHashMap}), so the check is sound under the Java memory model.</li>
 * <li>Only keys already cached are updated by the applier; others stay misses, so an entry is always
 *     exactly what the store holds (including the vector clock, merged as the store merges it).</li>
 * <li>A miss reads the store (items and the applied sequence in one snapshot) and may {@link #fill}
 *     only if the cache is at exactly that snapshot's position. Had the applier moved past it, the
 *     snapshot's value might be stale (the fill would resurrect it); were the cache behind it (the
 *     store committed a chunk the applier has not reported yet), the entry would be newer than the
 *     others, and a batch read could see half a transaction. Fills take the applier's lock.</li>
 * <li>A restart of the applier from a position other than the cache's clears the cache.</li>
 * </ul>
 * Eviction only removes entries (a later read misses and reads the store), so it cannot break the
 * invariant.
 *
 * <h2>Complete mode</h2>
 * When the node starts, the applier {@link #load}s the store into the cache. If the whole store fit,
 * the cache is <em>complete</em>: it holds every key the store holds, so a miss means "absent" and
 * no read (nor the certifier's cold-key question at the coordinator) goes to PostgreSQL. The applier
 * then inserts every key it writes, not only cached ones: with the old state in the cache (or known
 * absent), the new entry is exactly the store's, vector clock merge included. The first time the
 * cache would exceed its capacity it leaves complete mode for good (until the next load): it evicts
 * as usual and misses go to the store again.
 *
 * <h2>Capacity: keys and bytes</h2>
 * The cache holds at most {@code capacity} keys <em>and</em> about {@code maxBytes} of them (each
 * entry's {@link #cost}: its value's bytes, its key and a fixed overhead). Keys alone are not a
 * bound on memory: values may be up to a megabyte each, and a coordinator with a 1 GB heap ran out
 * of memory holding 106,000 keys of 8 KB (and could not load them again when restarted). Whichever
 * bound is reached first evicts.
 */
public final class ReadCache {
    /** The negative entry: the store does not have the key at the position. */
    private static final StoredItem ABSENT = new StoredItem("", null, 0, Map.of(), 0);
    private static final int SPINS = 64;
    /**
     * Estimated heap per entry besides its key's characters and its value's bytes: the map node, the
     * {@link StoredItem}, the key's String and the value's array headers, a one-node vector clock
     * (a TreeMap and its entry). A class histogram of a coordinator holding 32,852 entries of 8 KB
     * values showed about 230 bytes each beside the values.
     */
    static final int ENTRY_OVERHEAD = 240;

    private final int capacity;
    private final long maxBytes;
    /** Σ {@link #cost} of the entries; written under the write lock only. */
    private volatile long bytes;
    private final ConcurrentHashMap<String, StoredItem> entries;
    private final Object writeLock = new Object();
    private volatile long stamp;
    /** The applied sequence the entries are current at; -1 until the applier has started. */
    private volatile long position = -1;
    /** Every key of the store at {@link #position} is here: a miss is an absent key. */
    private volatile boolean complete;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder fills = new LongAdder();
    private final LongAdder refusedFills = new LongAdder();
    private final LongAdder evictions = new LongAdder();

    /** A cache bounded by keys only (tests). */
    public ReadCache(int capacity) {
        this(capacity, Long.MAX_VALUE);
    }

    public ReadCache(int capacity, long maxBytes) {
        if (capacity < 1 || maxBytes < 1) {
            throw new IllegalArgumentException("capacity and maxBytes must be positive");
        }
        this.capacity = capacity;
        this.maxBytes = maxBytes;
        this.entries = new ConcurrentHashMap<>(Math.min(capacity, 1 << 16));
    }

    /** A key's state at a position: {@code item} null means absent. */
    public record Hit(StoredItem item, long position) {
    }

    /** Several keys' states at one position, in the order asked. */
    public record Hits(StoredItem[] items, long position) {
    }

    public long position() {
        return position;
    }

    public int size() {
        return entries.size();
    }

    public int capacity() {
        return capacity;
    }

    public long maxBytes() {
        return maxBytes;
    }

    /** Estimated heap the entries hold (the sum of their {@link #cost}s). */
    public long bytes() {
        return bytes;
    }

    /** Σ {@link #cost} counted afresh over the entries (tests: the running {@link #bytes} must equal it). */
    long recountBytes() {
        synchronized (writeLock) {
            long sum = 0;
            for (Map.Entry<String, StoredItem> e : entries.entrySet()) {
                sum += cost(e.getKey(), e.getValue());
            }
            return sum;
        }
    }

    /** The estimated heap an entry holds: {@link #ENTRY_OVERHEAD}, the key's characters, the value's bytes. */
    public static long cost(String key, StoredItem item) {
        byte[] v = item == null ? null : item.valueJson();
        return ENTRY_OVERHEAD + key.length() + (v == null ? 0 : v.length);
    }

    /** The key's cached state with the position it is current at, or null on a miss. */
    public Hit get(String key) {
        for (int i = 0; i < SPINS; i++) {
            long s = stamp;
            if ((s & 1) != 0) {
                Thread.onSpinWait();
                continue;
            }
            long pos = position;
            StoredItem e = entries.get(key);
            if (e == null && complete) {
                e = ABSENT;
            }
            if (stamp == s) {
                if (e == null || pos < 0) {
                    misses.increment();
                    return null;
                }
                hits.increment();
                return new Hit(e == ABSENT ? null : e, pos);
            }
        }
        misses.increment(); // the applier kept moving: let the store answer
        return null;
    }

    /** All keys at one position, or null if any of them is not cached. */
    public Hits getAll(List<String> keys) {
        StoredItem[] out = new StoredItem[keys.size()];
        for (int i = 0; i < SPINS; i++) {
            long s = stamp;
            if ((s & 1) != 0) {
                Thread.onSpinWait();
                continue;
            }
            long pos = position;
            boolean all = complete;
            boolean found = pos >= 0;
            for (int k = 0; k < out.length && found; k++) {
                StoredItem e = entries.get(keys.get(k));
                found = e != null || all;
                out[k] = e == ABSENT ? null : e;
            }
            if (stamp == s) {
                if (!found) {
                    misses.increment();
                    return null;
                }
                hits.increment();
                return new Hits(out, pos);
            }
        }
        misses.increment();
        return null;
    }

    /** The cached committed state of a key (null if not cached or absent), for validation. Applier thread. */
    public StoredItem peek(String key) {
        StoredItem e = entries.get(key);
        return e == ABSENT ? null : e;
    }

    /**
     * A read of the store at {@code snapshotPosition} found {@code item} (null: absent). Cached only if
     * the cache is at exactly that position and does not hold the key yet; returns whether it was.
     */
    public boolean fill(String key, StoredItem item, long snapshotPosition) {
        synchronized (writeLock) {
            if (complete) {
                return false; // it holds every key already; and an eviction here would end complete mode unseen
            }
            if (position != snapshotPosition || position < 0) {
                refusedFills.increment();
                return false;
            }
            if (entries.containsKey(key)) {
                return true; // another reader filled it from the same snapshot
            }
            long cost = cost(key, item);
            if (cost > maxBytes) {
                refusedFills.increment(); // it could not fit even alone
                return false;
            }
            if (entries.size() >= capacity || bytes + cost > maxBytes) {
                evict(cost);
            }
            entries.put(key, item == null ? ABSENT : item);
            bytes += cost;
            fills.increment();
            return true;
        }
    }

    /**
     * The applier committed a chunk up to {@code sequence}; {@code items} is the new state of every key
     * it wrote. Cached keys take the new state (only a newer version replaces an older one, as in the
     * store); the position moves (never backwards). Readers see all of it or none of it.
     */
    public void applied(long sequence, Map<String, StoredItem> items) {
        synchronized (writeLock) {
            stamp++;
            try {
                for (StoredItem item : items.values()) {
                    String key = item.key();
                    StoredItem old = entries.get(key);
                    if (old == ABSENT) {
                        entries.put(key, item);
                        bytes += cost(key, item) - cost(key, null);
                    } else if (old != null && item.version() > old.version()) {
                        entries.put(key, withMergedClock(old, item));
                        bytes += cost(key, item) - cost(key, old);
                    } else if (old == null && complete) {
                        long cost = cost(key, item);
                        if (entries.size() >= capacity || bytes + cost > maxBytes) {
                            complete = false; // from now on a miss must ask the store
                            evict(0);
                        } else {
                            entries.put(key, item);
                            bytes += cost;
                        }
                    }
                }
                if (bytes > maxBytes) {
                    // Cached values grew past the budget: evicting ends complete mode (a miss must ask the store).
                    complete = false;
                    evict(0);
                }
                if (sequence > position) {
                    position = sequence;
                }
            } finally {
                stamp++;
            }
        }
    }

    /**
     * The applier (re)starts at {@code applied}, as the store says. If that is not where the cache is,
     * some commit was not reported to it (or it is new): start empty at that position.
     */
    public void reset(long applied) {
        synchronized (writeLock) {
            if (applied == position) {
                return;
            }
            stamp++;
            try {
                entries.clear();
                bytes = 0;
                complete = false;
                position = applied;
            } finally {
                stamp++;
            }
        }
    }

    /**
     * Replaces the contents with {@code items}, the store's state at {@code position} (the applier's,
     * before it applies anything). {@code wholeStore}: these are all the keys the store holds, and
     * they fit, so the cache becomes complete.
     */
    public void load(long position, List<StoredItem> items, boolean wholeStore) {
        synchronized (writeLock) {
            stamp++;
            try {
                entries.clear();
                long total = 0;
                for (StoredItem item : items) {
                    long cost = cost(item.key(), item);
                    if (entries.size() >= capacity || total + cost > maxBytes) {
                        break;
                    }
                    entries.put(item.key(), item);
                    total += cost;
                }
                bytes = total;
                complete = wholeStore && entries.size() == items.size();
                this.position = position;
            } finally {
                stamp++;
            }
        }
    }

    /** True while every key of the store is cached (a miss is an absent key). */
    public boolean complete() {
        return complete;
    }

    /** Size, position, mode and counters, for {@code /v1/status}. */
    public Map<String, Object> stats() {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("position", position);
        m.put("keys", entries.size());
        m.put("capacity", capacity);
        m.put("bytes", bytes);
        m.put("maxBytes", maxBytes);
        m.put("complete", complete);
        m.put("hits", hits());
        m.put("misses", misses());
        m.put("fills", fills());
        m.put("refusedFills", refusedFills());
        m.put("evictions", evictions());
        return m;
    }

    /** As the store merges: the new version's clock entries over the old ones. */
    static StoredItem withMergedClock(StoredItem old, StoredItem item) {
        // The usual case (every write from the same nodes, often one) names every node the old clock
        // does: the overlay is the new clock itself, so no map is built on the applier's hot path.
        // (Iterating entries, not keySet(): a map's key set view is kept in a field of the map, and it
        // would stay in the heap beside every cached clock.)
        if (namesEveryNodeOf(item.vclock(), old.vclock())) {
            return item;
        }
        TreeMap<String, Long> clock = new TreeMap<>(old.vclock());
        clock.putAll(item.vclock());
        return new StoredItem(item.key(), item.valueJson(), item.version(), clock, item.sequence());
    }

    private static boolean namesEveryNodeOf(Map<String, Long> clock, Map<String, Long> other) {
        for (Map.Entry<String, Long> e : other.entrySet()) {
            if (!clock.containsKey(e.getKey())) {
                return false;
            }
        }
        return true;
    }

    /**
     * Drops entries (at least one, in the map's own order) until a sixteenth of each bound is free
     * beside {@code room} more bytes, so evictions come in rounds rather than one per insert. Caller
     * holds the write lock.
     */
    private void evict(long room) {
        int keepKeys = capacity - Math.max(1, capacity / 16);
        long keepBytes = maxBytes - maxBytes / 16 - room;
        int removed = 0;
        for (Iterator<Map.Entry<String, StoredItem>> it = entries.entrySet().iterator(); it.hasNext(); ) {
            if (removed > 0 && entries.size() <= keepKeys && bytes <= keepBytes) {
                break;
            }
            Map.Entry<String, StoredItem> e = it.next();
            StoredItem item = e.getValue();
            bytes -= cost(e.getKey(), item); // ABSENT has no value: the same cost as null
            it.remove();
            removed++;
        }
        evictions.add(removed);
    }

    public long hits() {
        return hits.sum();
    }

    public long misses() {
        return misses.sum();
    }

    public long fills() {
        return fills.sum();
    }

    public long refusedFills() {
        return refusedFills.sum();
    }

    public long evictions() {
        return evictions.sum();
    }
}
