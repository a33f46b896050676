package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

/**
 * {@link KeyWindow} against a model built on {@link HashMap}: random sequences of creates, writes,
 * reads, holds, undo marks, rollbacks and releases over a few keys in a window small enough to evict
 * on most creates. After every step the window must hold exactly the model's keys with exactly their
 * state; a key that vanished must have been evictable (not held, not pinned) and its Tr and Tw must
 * now be covered by its bucket's floors; a rollback must restore the state at its mark.
 *
 * <p>Named {@code *Test} so that Surefire's default includes run it in {@code ./mvnw verify}
 * (a {@code *Properties} class is only run when named with {@code -Dtest}).
 */
class KeyWindowTest {

    enum Op { WRITE, READ, HOLD, UNHOLD, MARK, ROLLBACK, RELEASE }

    record Step(Op op, int key) {
    }

    /** The model of one key in the window. */
    static final class Entry {
        long tr;
        long floor;
        long pin;
        int readHolds;
        int writeHolds;
        final ArrayDeque<Long> history = new ArrayDeque<>();

        Entry copy() {
            Entry e = new Entry();
            e.tr = tr;
            e.floor = floor;
            e.pin = pin;
            e.readHolds = readHolds;
            e.writeHolds = writeHolds;
            e.history.addAll(history);
            return e;
        }

        long twBound() {
            return history.isEmpty() ? floor : Math.max(history.peekLast(), floor);
        }
    }

    record Snapshot(long mark, Map<String, Entry> entries, long[] floors) {
    }

    @Provide
    Arbitrary<List<Step>> steps() {
        return Combinators.combine(
                        Arbitraries.frequencyOf(
                                net.jqwik.api.Tuple.of(8, Arbitraries.just(Op.WRITE)),
                                net.jqwik.api.Tuple.of(5, Arbitraries.just(Op.READ)),
                                net.jqwik.api.Tuple.of(2, Arbitraries.just(Op.HOLD)),
                                net.jqwik.api.Tuple.of(2, Arbitraries.just(Op.UNHOLD)),
                                net.jqwik.api.Tuple.of(1, Arbitraries.just(Op.MARK)),
                                net.jqwik.api.Tuple.of(1, Arbitraries.just(Op.ROLLBACK)),
                                net.jqwik.api.Tuple.of(2, Arbitraries.just(Op.RELEASE))),
                        Arbitraries.integers().between(0, 11))
                .as(Step::new).list().ofMinSize(1).ofMaxSize(400);
    }

    @Property(tries = 500)
    void theWindowAgreesWithAHashMapModel(@ForAll("steps") List<Step> steps,
                                          @ForAll @IntRange(min = 1, max = 6) int capacity,
                                          @ForAll @IntRange(min = 1, max = 4) int depth,
                                          @ForAll @IntRange(min = 0, max = 2) int bucketBits,
                                          @ForAll boolean undoable) {
        run(steps, capacity, depth, 1 << bucketBits, undoable);
    }

    /** Far more keys than the first array size: the arrays and the index grow while keys come and go. */
    @Example
    void growingPastTheInitialSizeKeepsEveryKey() {
        UndoLog undo = new UndoLog(false);
        KeyWindow w = new KeyWindow(5000, 64, 2, undo);
        for (int i = 0; i < 5000; i++) {
            String k = "key" + i;
            w.pushWrite(w.getOrCreate(k, k.hashCode()), i + 1);
        }
        assertEquals(5000, w.size());
        for (int i = 0; i < 5000; i++) {
            String k = new String("key" + i); // equal, not the same reference
            int slot = w.find(k, k.hashCode());
            assertTrue(slot >= 0, k);
            assertEquals(i + 1, w.newest(slot));
        }
        assertEquals(KeyWindow.NONE, w.find("nokey", "nokey".hashCode()));
    }

    /** Keys with one hash collide in the index: lookups and deletions must still find the right one. */
    @Example
    void collidingHashesStayDistinct() {
        UndoLog undo = new UndoLog(false);
        KeyWindow w = new KeyWindow(4, 1, 1, undo);
        String[] keys = {"Aa", "BB", "AaAa", "BBBB", "AaBB", "BBAa"};
        assertEquals("Aa".hashCode(), "BB".hashCode());
        long ts = 0;
        Map<String, Long> last = new HashMap<>();
        for (int round = 0; round < 5; round++) {
            for (String k : keys) {
                w.pushWrite(w.getOrCreate(k, k.hashCode()), ++ts);
                last.put(k, ts);
                int slot = w.find(k, k.hashCode());
                assertEquals(ts, w.newest(slot));
            }
            int present = 0;
            for (String k : keys) {
                int slot = w.find(k, k.hashCode());
                if (slot >= 0) {
                    present++;
                    assertEquals(last.get(k), w.newest(slot), k);
                }
            }
            assertEquals(w.size(), present);
        }
    }

    private static void run(List<Step> steps, int capacity, int depth, int buckets, boolean undoable) {
        UndoLog undo = new UndoLog(undoable);
        KeyWindow w = new KeyWindow(capacity, buckets, depth, undo);
        Map<String, Entry> model = new HashMap<>();
        long[] floors = new long[2 * buckets];
        List<Snapshot> marks = new ArrayList<>();
        long ts = 0;
        int evictions = 0;
        for (Step s : steps) {
            String key = "k" + s.key();
            int hash = key.hashCode();
            int b = w.bucket(hash);
            String where = s + " in " + steps;
            switch (s.op()) {
                case WRITE -> {
                    Map<String, Entry> before = copy(model);
                    int slot = w.getOrCreate(key, hash);
                    Entry e = model.get(key);
                    if (e == null) {
                        e = new Entry();
                        e.tr = floors[2 * b];
                        e.floor = floors[2 * b + 1];
                    }
                    // At most one other key may have gone to make room; it must have been evictable.
                    for (Map.Entry<String, Entry> o : before.entrySet()) {
                        String other = o.getKey();
                        if (!other.equals(key) && w.find(other, other.hashCode()) == KeyWindow.NONE) {
                            Entry gone = o.getValue();
                            assertEquals(0, gone.readHolds + gone.writeHolds, "evicted a held key: " + where);
                            assertTrue(!undoable || gone.pin <= undo.released(), "evicted a pinned key: " + where);
                            int ob = w.bucket(other.hashCode());
                            floors[2 * ob] = Math.max(floors[2 * ob], gone.tr);
                            floors[2 * ob + 1] = Math.max(floors[2 * ob + 1], gone.twBound());
                            model.remove(other);
                            evictions++;
                        }
                    }
                    model.put(key, e);
                    ts++;
                    w.pushWrite(slot, ts);
                    e.history.addLast(ts);
                    if (e.history.size() > depth) {
                        e.floor = Math.max(e.floor, e.history.removeFirst());
                    }
                    e.pin = undo.mark();
                    w.markReferenced(slot);
                }
                case READ -> {
                    ts++;
                    int slot = w.find(key, hash);
                    Entry e = model.get(key);
                    assertEquals(e != null, slot >= 0, where);
                    if (slot >= 0) {
                        w.observeRead(slot, ts);
                        e.tr = Math.max(e.tr, ts);
                    } else {
                        w.raiseTrFloor(b, ts);
                        floors[2 * b] = Math.max(floors[2 * b], ts);
                    }
                }
                case HOLD, UNHOLD -> {
                    int slot = w.find(key, hash);
                    Entry e = model.get(key);
                    if (slot < 0) {
                        break;
                    }
                    boolean write = (s.key() & 1) == 0;
                    int delta = s.op() == Op.HOLD ? 1 : -1;
                    if (delta < 0 && (write ? e.writeHolds : e.readHolds) == 0) {
                        break;
                    }
                    if (write) {
                        w.addWriteHold(slot, delta);
                        e.writeHolds += delta;
                    } else {
                        w.addReadHold(slot, delta);
                        e.readHolds += delta;
                    }
                }
                case MARK -> {
                    if (undoable) {
                        marks.add(new Snapshot(undo.mark(), copy(model), floors.clone()));
                    }
                }
                case ROLLBACK -> {
                    // Holds are not undo-logged: they never outlive the certification that took
                    // them, so a rollback never finds one.
                    boolean anyHeld = model.values().stream().anyMatch(e -> e.readHolds + e.writeHolds != 0);
                    if (undoable && !marks.isEmpty() && !anyHeld) {
                        Snapshot m = marks.remove(marks.size() - 1);
                        undo.rollbackTo(m.mark());
                        Map<String, Entry> restored = copy(m.entries());
                        for (Entry e : restored.values()) {
                            e.readHolds = 0;
                            e.writeHolds = 0;
                        }
                        model = restored;
                        floors = m.floors().clone();
                    }
                }
                case RELEASE -> {
                    undo.release(undo.mark());
                    marks.clear();
                }
            }
            check(w, model, floors, where);
        }
        assertEquals(evictions, w.evictions);
    }

    private static void check(KeyWindow w, Map<String, Entry> model, long[] floors, String where) {
        assertEquals(model.size(), w.size(), "size after " + where);
        for (int i = 0; i < 12; i++) {
            String k = "k" + i;
            int slot = w.find(k, k.hashCode());
            Entry e = model.get(k);
            assertEquals(e != null, slot >= 0, k + " present after " + where);
            if (e == null) {
                continue;
            }
            assertTrue(w.holds(slot, k));
            assertEquals(e.tr, w.tr(slot), k + " Tr after " + where);
            assertEquals(e.floor, w.floor(slot), k + " floor after " + where);
            assertEquals(e.history.size(), w.historySize(slot), k + " history size after " + where);
            int j = 0;
            for (long v : e.history) {
                assertEquals(v, w.at(slot, j), k + " history[" + j + "] after " + where);
                assertEquals(j, w.findWrite(slot, v));
                j++;
            }
            assertEquals(e.twBound(), w.twBound(slot));
            assertEquals(e.readHolds + e.writeHolds != 0, w.held(slot));
            assertEquals(e.writeHolds != 0, w.writeHeld(slot));
        }
        for (int i = 0; i < floors.length; i++) {
            assertEquals(floors[i], w.floors[i], "floor " + i + " after " + where);
        }
    }

    private static Map<String, Entry> copy(Map<String, Entry> m) {
        Map<String, Entry> out = new HashMap<>();
        m.forEach((k, v) -> out.put(k, v.copy()));
        return out;
    }
}
