package io.presage.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;


class ReadCacheTest {

    private static StoredItem item(String key, long version, long seq) {
        return new StoredItem(key, Long.toString(version).getBytes(StandardCharsets.UTF_8), version,
                Map.of("coordinator", version), seq);
    }

    @Test
    void aNewVersionsClockIsLaidOverTheOldOneAsTheStoreDoes() {
        StoredItem old = new StoredItem("k", "1".getBytes(StandardCharsets.UTF_8), 1, Map.of("a", 1L, "b", 2L), 1);
        StoredItem sameNodes = new StoredItem("k", "2".getBytes(StandardCharsets.UTF_8), 5, Map.of("a", 5L, "b", 1L), 2);
        assertTrue(sameNodes == ReadCache.withMergedClock(old, sameNodes), "naming every old node: the new clock as it is");
        StoredItem fewer = new StoredItem("k", "3".getBytes(StandardCharsets.UTF_8), 6, Map.of("a", 6L), 3);
        StoredItem merged = ReadCache.withMergedClock(old, fewer);
        assertEquals(Map.of("a", 6L, "b", 2L), merged.vclock(), "a node the new clock leaves out keeps its old entry");
        assertEquals(6, merged.version());
        assertEquals(3, merged.sequence());
    }

    @Test
    void aFillIsRefusedUnlessTheCacheIsAtExactlyTheSnapshotsPosition() {
        ReadCache c = new ReadCache(16);
        assertFalse(c.fill("k", item("k", 1, 1), 1), "not started: no position yet");
        c.reset(5);
        assertFalse(c.fill("k", item("k", 1, 1), 4), "the applier moved past the snapshot: it may be stale");
        assertFalse(c.fill("k", item("k", 1, 1), 6), "the snapshot is ahead of the cache: it would mix positions");
        assertNull(c.get("k"));
        assertTrue(c.fill("k", item("k", 1, 1), 5));
        assertEquals(5, c.get("k").position());
        assertTrue(c.fill("absent", null, 5));
        ReadCache.Hit negative = c.get("absent");
        assertNotNull(negative, "absent keys are cached too");
        assertNull(negative.item());
    }

    @Test
    void theApplierUpdatesCachedKeysOnlyAndNeverMovesBackwards() {
        ReadCache c = new ReadCache(16);
        c.reset(1);
        c.fill("a", item("a", 10, 1), 1);
        c.fill("gone", null, 1);
        c.applied(2, Map.of("a", item("a", 20, 2), "gone", item("gone", 20, 2), "other", item("other", 20, 2)));
        assertEquals(20, c.get("a").item().version());
        assertEquals(20, c.get("gone").item().version(), "a negative entry takes the new item");
        assertNull(c.get("other"), "an uncached key stays a miss: its store row may carry older clock entries");
        c.applied(1, Map.of("a", item("a", 10, 1))); // a replay of an older chunk
        assertEquals(20, c.get("a").item().version());
        assertEquals(2, c.position());
    }

    @Test
    void aRestartFromAnotherPositionEmptiesTheCacheAndFromTheSameKeepsIt() {
        ReadCache c = new ReadCache(16);
        c.reset(3);
        c.fill("a", item("a", 1, 1), 3);
        c.reset(3);
        assertNotNull(c.get("a"));
        c.reset(4); // a commit the cache never heard of
        assertNull(c.get("a"));
        assertEquals(4, c.position());
    }

    @Test
    void theCacheStaysWithinItsCapacity() {
        ReadCache c = new ReadCache(32);
        c.reset(0);
        for (int i = 0; i < 1000; i++) {
            c.fill("k" + i, null, 0);
            assertTrue(c.size() <= 32);
        }
        assertTrue(c.evictions() > 0);
    }

    /**
     * Property, under concurrency: every answer the cache gives (one key, or many at one position) is
     * exactly the store's state at the position it names. A simulated store commits transactions of
     * several keys, then the "applier" reports them to the cache; readers read the cache and, on a
     * miss, read a snapshot of the store and fill. The oracle keeps every state the store went through.
     */
    @Test
    void everyAnswerIsTheStoresStateAtTheAnsweredPositionUnderConcurrentApplyAndFill() throws Exception {
        for (long seed = 1; seed <= 3; seed++) {
            runStress(seed, 8, false); // far fewer than the keys: eviction and refills all the time
        }
    }

    /** The same property from a complete load: the cache stays complete (capacity 64) or leaves it (16). */
    @Test
    void everyAnswerIsTheStoresStateWhenCompleteAndAfterLeavingCompleteMode() throws Exception {
        for (long seed = 1; seed <= 3; seed++) {
            runStress(seed, 64, true);
            runStress(seed, 16, true);
        }
    }

    @Test
    void aCompleteCacheAnswersAbsentForUnknownKeysAndLeavesCompleteModeWhenFull() {
        ReadCache c = new ReadCache(3);
        c.load(7, List.of(item("a", 1, 5), item("b", 2, 6)), true);
        assertTrue(c.complete());
        ReadCache.Hit unknown = c.get("never-written");
        assertNotNull(unknown, "complete: a miss is an absent key");
        assertNull(unknown.item());
        assertNotNull(c.getAll(List.of("a", "never-written")));
        assertFalse(c.fill("x", null, 7), "nothing to fill in a complete cache");
        c.applied(8, Map.of("c", item("c", 3, 8)));
        assertEquals(3, c.get("c").item().version(), "complete: a new key is inserted, not left a miss");
        c.applied(9, Map.of("d", item("d", 4, 9)));
        assertFalse(c.complete(), "the fourth key does not fit");
        assertTrue(c.size() <= 3);
        assertNull(c.get("never-written"), "no longer complete: an unknown key is a miss again");
        c.load(9, List.of(item("a", 1, 5)), false);
        assertFalse(c.complete(), "a partial load is not complete");
    }

    @Test
    void aByteBudgetBoundsTheCacheAndIsCountedExactly() {
        long budget = 20 * (ReadCache.ENTRY_OVERHEAD + 3 + 100);
        ReadCache c = new ReadCache(1_000, budget);
        c.load(0, List.of(), true);
        Random rnd = new Random(7);
        for (long seq = 1; seq <= 2_000; seq++) {
            String k = "k" + rnd.nextInt(60);
            int size = rnd.nextInt(10) == 0 ? 900 : rnd.nextInt(200); // now and then a large value
            StoredItem item = rnd.nextInt(8) == 0 ? new StoredItem(k, null, seq, Map.of("c", seq), seq)
                    : new StoredItem(k, new byte[size], seq, Map.of("c", seq), seq);
            c.applied(seq, Map.of(k, item));
            if (!c.complete()) {
                String f = "k" + rnd.nextInt(60);
                c.fill(f, rnd.nextBoolean() ? null : new StoredItem(f, new byte[rnd.nextInt(300)], 0, Map.of(), 0), seq);
            }
            assertTrue(c.bytes() <= budget, "within the budget at " + seq + ": " + c.bytes());
            assertEquals(c.recountBytes(), c.bytes(), "the running count is the sum of the entries' costs at " + seq);
        }
        assertFalse(c.complete(), "60 keys of up to 900 bytes do not fit in 20 entries' worth");
        assertTrue(c.evictions() > 0 && c.size() > 0 && c.size() < 60, "evicted by bytes, long before 1,000 keys: " + c.size());
    }

    @Test
    void aLoadStopsAtTheByteBudgetAndIsThenNotComplete() {
        long budget = 3 * (ReadCache.ENTRY_OVERHEAD + 2 + 50); // three entries of a 2-character key and 50 bytes
        ReadCache c = new ReadCache(1_000, budget);
        List<StoredItem> recentFirst = new ArrayList<>();
        for (int i = 5; i >= 1; i--) {
            recentFirst.add(new StoredItem("k" + i, new byte[50], i, Map.of("c", (long) i), i));
        }
        c.load(5, recentFirst, true);
        assertEquals(3, c.size(), "the three most recent fit");
        assertNotNull(c.get("k5"));
        assertNull(c.get("k1"), "not loaded: a miss");
        assertFalse(c.complete(), "the whole store was given but did not fit");
        assertEquals(c.recountBytes(), c.bytes());
        ReadCache all = new ReadCache(1_000, budget);
        all.load(5, recentFirst.subList(0, 3), true);
        assertTrue(all.complete(), "the whole store fitting: complete");
        all.applied(6, Map.of("k5", new StoredItem("k5", new byte[500], 6, Map.of("c", 6L), 6)));
        assertFalse(all.complete(), "a value that grew past the budget evicts, which ends complete mode");
        assertTrue(all.bytes() <= budget);
        assertFalse(all.fill("huge", new StoredItem("huge", new byte[(int) budget], 1, Map.of(), 1), 6),
                "a value larger than the whole budget is not cached");
    }

    @Test
    void aFillIsCoherentWhileTheByteBudgetEvicts() throws Exception {
        for (long seed = 1; seed <= 3; seed++) {
            // Entries of ~170 bytes: about a third of the 24 keys fit, so fills and evictions never stop.
            runStress(seed, 64, 8 * (ReadCache.ENTRY_OVERHEAD + 10), false);
        }
    }

    private static void runStress(long seed, int capacity, boolean loadFirst) throws Exception {
        runStress(seed, capacity, Long.MAX_VALUE, loadFirst);
    }

    private static void runStress(long seed, int capacity, long maxBytes, boolean loadFirst) throws Exception {
        int keys = 24;
        int txns = 4000;
        ReadCache cache = new ReadCache(capacity, maxBytes);
        Store store = new Store();
        if (loadFirst) {
            cache.load(0, List.of(), true);
        } else {
            cache.reset(0);
        }
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong progress = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(3);
        List<Future<long[]>> readers = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            long readerSeed = seed * 31 + r;
            readers.add(pool.submit(() -> {
                Random rnd = new Random(readerSeed);
                long checked = 0;
                while (!done.get()) {
                    List<String> ks = new ArrayList<>();
                    for (int i = 1 + rnd.nextInt(4); i > 0; i--) {
                        ks.add("k" + rnd.nextInt(keys));
                    }
                    ReadCache.Hits h = cache.getAll(ks);
                    if (h != null) {
                        for (int i = 0; i < ks.size(); i++) {
                            assertEquals(store.at(h.position()).get(ks.get(i)), h.items()[i],
                                    ks.get(i) + " at " + h.position());
                        }
                    } else {
                        Store.Snapshot s = store.snapshot();
                        for (String k : ks) {
                            cache.fill(k, s.state().get(k), s.position());
                        }
                    }
                    ReadCache.Hit one = cache.get(ks.get(0));
                    if (one != null) {
                        assertEquals(store.at(one.position()).get(ks.get(0)), one.item());
                    }
                    checked++;
                    progress.incrementAndGet();
                }
                return new long[] {checked};
            }));
        }
        Random rnd = new Random(seed);
        for (long seq = 1; seq <= txns; seq++) {
            Map<String, StoredItem> writes = new HashMap<>();
            for (int i = 1 + rnd.nextInt(3); i > 0; i--) {
                String k = "k" + rnd.nextInt(keys);
                writes.put(k, rnd.nextInt(5) == 0 ? new StoredItem(k, null, seq, Map.of("coordinator", seq), seq)
                        : item(k, seq, seq));
            }
            store.commit(seq, writes);
            cache.applied(seq, writes);
            if (seq % 40 == 0) {
                awaitReaders(progress, readers);
            }
        }
        done.set(true);
        long checked = 0;
        for (Future<long[]> f : readers) {
            checked += f.get(60, TimeUnit.SECONDS)[0];
        }
        pool.shutdown();
        assertTrue(checked > 100, "readers ran: " + checked);
        assertTrue(cache.hits() > 0, "hits");
        assertTrue(loadFirst ? capacity >= keys == cache.complete() : cache.fills() > 0,
                "complete mode kept exactly while every key fits; fills when partial");
        assertEquals(cache.recountBytes(), cache.bytes(), "bytes counted exactly");
        assertTrue(cache.bytes() <= maxBytes, "within the byte budget");
    }

    /**
     * Lets the readers catch up before the writer goes on, so that reads interleave with applies even
     * when the machine is busy: without this, on a loaded CI machine the writer could finish all its
     * transactions before a reader was scheduled, and the property would be checked on nothing.
     */
    private static void awaitReaders(AtomicLong progress, List<Future<long[]>> readers) {
        long target = progress.get() + 3; // two readers: three completions mean one whole read ran during the wait
        while (progress.get() < target && readers.stream().noneMatch(Future::isDone)) {
            Thread.yield();
        }
    }

    /** The store as the oracle: every state it went through, by position; snapshots are atomic. */
    private static final class Store {
        record Snapshot(Map<String, StoredItem> state, long position) {
        }

        private final Map<Long, Map<String, StoredItem>> states = new ConcurrentHashMap<>();
        private volatile Snapshot current = new Snapshot(Map.of(), 0);

        Store() {
            states.put(0L, Map.of());
        }

        synchronized void commit(long seq, Map<String, StoredItem> writes) {
            Map<String, StoredItem> next = new HashMap<>(current.state());
            next.putAll(writes);
            states.put(seq, next);
            current = new Snapshot(next, seq);
        }

        Snapshot snapshot() {
            return current;
        }

        Map<String, StoredItem> at(long position) {
            return states.get(position);
        }
    }
}
