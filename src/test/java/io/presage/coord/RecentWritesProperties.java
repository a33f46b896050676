package io.presage.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Recent writes against a model that keeps every version ever put. Acks (puts) arrive out of
 * sequence order within a window, and the applier's evictions interleave with them. Whatever it
 * evicts, recent writes must never lose a version the store has not applied, never answer with a
 * version older than the newest one put, leave to the store what it has applied, and, once
 * everything is applied, hold nothing.
 */
class RecentWritesProperties {

    @Property(tries = 300)
    void evictionKeepsEveryUnappliedVersionAndNeverAnOlderOneInItsPlace(
            @ForAll long seed, @ForAll @IntRange(min = 1, max = 30) int keyCount,
            @ForAll @IntRange(min = 1, max = 6) int ackWindow) {
        Random rnd = new Random(seed);
        int messages = 400;
        List<RecentWrites.Version> inLogOrder = new ArrayList<>();
        for (long seq = 1; seq <= messages; seq++) {
            // Version = sequence: per key, a later message writes a newer version.
            inLogOrder.add(new RecentWrites.Version("k" + rnd.nextInt(keyCount), new byte[rnd.nextInt(40)], seq, seq,
                    Map.of("c", seq)));
        }
        List<RecentWrites.Version> ackOrder = new ArrayList<>(inLogOrder);
        for (int i = 0; i + ackWindow <= ackOrder.size(); i += ackWindow) {
            Collections.shuffle(ackOrder.subList(i, i + ackWindow), rnd);
        }

        RecentWrites r = new RecentWrites();
        Map<String, List<RecentWrites.Version>> model = new HashMap<>();
        long applied = 0;
        long maxPut = 0;
        for (RecentWrites.Version v : ackOrder) {
            r.put(v);
            model.computeIfAbsent(v.key(), k -> new ArrayList<>()).add(v);
            maxPut = Math.max(maxPut, v.sequence());
            if (rnd.nextInt(4) == 0) {
                applied = Math.max(applied, maxPut - rnd.nextInt(2 * ackWindow + 1));
                r.evictApplied(applied);
            }
            long position = applied + rnd.nextInt(2 * ackWindow + 1);
            for (String key : model.keySet()) {
                checkKey(r, model.get(key), applied, position);
            }
        }
        r.evictApplied(messages);
        assertEquals(0, r.size(), "everything applied: no key held");
        assertEquals(0, r.bytes(), "everything applied: no bytes held");
    }

    /** What {@code get} and {@code at} may answer for one key, given every version put of it. */
    private static void checkKey(RecentWrites r, List<RecentWrites.Version> put, long applied, long position) {
        RecentWrites.Version newest = newestAtOrBefore(put, Long.MAX_VALUE);
        assertAnswer(newest, r.get(newest.key()), applied, "get");
        RecentWrites.Version atPosition = newestAtOrBefore(put, position);
        RecentWrites.Version got = r.at(newest.key(), position);
        if (atPosition == null) {
            assertNull(got, "at " + position + ": nothing was put at or before it");
        } else {
            assertAnswer(atPosition, got, applied, "at " + position);
        }
    }

    /** Unapplied: it must be the answer. Applied: the store has it (or newer), so nothing is. */
    private static void assertAnswer(RecentWrites.Version expected, RecentWrites.Version got, long applied, String what) {
        if (expected.sequence() > applied) {
            assertSame(expected, got, what + ": an unapplied version must be held");
        } else {
            assertNull(got, what + ": applied " + applied + ", the store answers for " + expected.sequence());
        }
    }

    private static RecentWrites.Version newestAtOrBefore(List<RecentWrites.Version> put, long position) {
        RecentWrites.Version best = null;
        for (RecentWrites.Version v : put) {
            if (v.sequence() <= position && (best == null || v.version() > best.version())) {
                best = v;
            }
        }
        return best;
    }
}
