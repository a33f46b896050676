package io.presage.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.Test;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class KeyTurnsTest {

    @Test
    void callsOnDifferentKeysStartAtOnce() {
        KeyTurns t = new KeyTurns();
        assertTrue(t.enter(List.of("a", "b")).ready().isDone());
        assertTrue(t.enter(List.of("c")).ready().isDone());
    }

    @Test
    void aCallOnABusyKeyStartsWhenTheCallAheadFinishesAndNotBefore() {
        KeyTurns t = new KeyTurns();
        KeyTurns.Turn first = t.enter(List.of("a"));
        KeyTurns.Turn second = t.enter(List.of("a"));
        KeyTurns.Turn third = t.enter(List.of("a"));
        assertFalse(second.ready().isDone());
        first.finish();
        assertTrue(second.ready().isDone());
        assertFalse(third.ready().isDone(), "third waits for second, not for first");
        second.finish();
        assertTrue(third.ready().isDone());
        third.finish();
        assertEquals(0, t.size(), "finished calls leave no key behind");
    }

    @Test
    void aCallOnSeveralKeysWaitsForEveryCallAheadOnAnyOfThem() {
        KeyTurns t = new KeyTurns();
        KeyTurns.Turn onA = t.enter(List.of("a"));
        KeyTurns.Turn onB = t.enter(List.of("b"));
        KeyTurns.Turn transfer = t.enter(List.of("a", "b"));
        onA.finish();
        assertFalse(transfer.ready().isDone(), "b is still busy");
        onB.finish();
        assertTrue(transfer.ready().isDone());
    }

    @Test
    void aKeyRepeatedInOneCallDoesNotMakeItWaitForItself() {
        KeyTurns t = new KeyTurns();
        KeyTurns.Turn selfTransfer = t.enter(List.of("a", "a"));
        assertTrue(selfTransfer.ready().isDone());
        KeyTurns.Turn next = t.enter(List.of("a"));
        assertFalse(next.ready().isDone());
        selfTransfer.finish();
        assertTrue(next.ready().isDone());
    }

    @Test
    void aCallThatLeavesBeforeItsTurnDoesNotLetTheOnesBehindItOvertake() {
        KeyTurns t = new KeyTurns();
        KeyTurns.Turn first = t.enter(List.of("a"));
        KeyTurns.Turn second = t.enter(List.of("a"));
        second.finish(); // its client went away while it waited
        second.finish(); // and finishing twice changes nothing
        KeyTurns.Turn third = t.enter(List.of("a"));
        assertFalse(third.ready().isDone(), "first is still running");
        first.finish();
        assertTrue(third.ready().isDone());
        third.finish();
        assertEquals(0, t.size());
    }

    @Test
    void aCallThatNeverFinishesHoldsUpOnlyTheCallThatGaveUpWaitingForIt() {
        KeyTurns t = new KeyTurns();
        t.enter(List.of("a")); // stuck: never finishes
        KeyTurns.Turn second = t.enter(List.of("a"));
        KeyTurns.Turn third = t.enter(List.of("a"));
        second.stopWaiting(); // it waited a commit's timeout and ran anyway
        assertFalse(third.ready().isDone(), "second is still running");
        second.finish();
        assertTrue(third.ready().isDone(), "the stuck call holds nobody behind second");
    }

    @Test
    void readyWithinABoundGoesAheadOfAStuckCallAndThenHoldsUpNobodyBehindIt() throws Exception {
        KeyTurns t = new KeyTurns();
        t.enter(List.of("a")); // stuck: never finishes
        KeyTurns.Turn second = t.enter(List.of("a"));
        KeyTurns.Turn third = t.enter(List.of("a"));
        second.readyWithin(20).get(5, TimeUnit.SECONDS); // completes (normally) once the bound has passed
        assertFalse(third.ready().isDone(), "second is still running");
        second.finish();
        assertTrue(third.ready().isDone(), "the stuck call holds nobody behind second");
        assertTrue(t.enter(List.of("b")).readyWithin(20).isDone(), "nobody ahead: ready at once");
    }

    /**
     * Oracle: a model of who is inside. Calls on random subsets of a few keys, from several threads,
     * each holding its keys for a moment once ready. No two calls sharing a key are ever inside at
     * once, every call gets its turn (no deadlock), and nothing is left registered afterwards.
     */
    @Property(tries = 30)
    void callsSharingAKeyNeverOverlapAndAllGetTheirTurn(@ForAll @IntRange(min = 1, max = 6) int keys,
            @ForAll @IntRange(min = 2, max = 6) int threads, @ForAll long seed) throws Exception {
        KeyTurns t = new KeyTurns();
        ConcurrentHashMap<String, AtomicInteger> inside = new ConcurrentHashMap<>();
        AtomicReference<String> violation = new AtomicReference<>();
        ScheduledExecutorService pool = Executors.newScheduledThreadPool(threads);
        int calls = 200;
        CountDownLatch done = new CountDownLatch(calls * threads);
        List<Thread> callers = new ArrayList<>();
        for (int th = 0; th < threads; th++) {
            Random r = new Random(seed + th);
            callers.add(new Thread(() -> {
                for (int c = 0; c < calls; c++) {
                    List<String> ks = new ArrayList<>();
                    int n = 1 + r.nextInt(3);
                    for (int i = 0; i < n; i++) {
                        ks.add("k" + r.nextInt(keys));
                    }
                    KeyTurns.Turn turn = t.enter(ks);
                    turn.ready().thenRunAsync(() -> {
                        List<String> distinct = ks.stream().distinct().toList();
                        for (String k : distinct) {
                            if (inside.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet() != 1) {
                                violation.compareAndSet(null, "two calls inside on " + k);
                            }
                        }
                        Thread.onSpinWait();
                        for (String k : distinct) {
                            inside.get(k).decrementAndGet();
                        }
                        turn.finish();
                        done.countDown();
                    }, pool);
                }
            }));
        }
        callers.forEach(Thread::start);
        for (Thread c : callers) {
            c.join();
        }
        boolean all = done.await(30, TimeUnit.SECONDS);
        pool.shutdownNow();
        assertEquals(null, violation.get());
        assertTrue(all, "every call got its turn: " + done.getCount() + " still waiting");
        assertEquals(0, t.size());
    }

    @Test
    void aTurnCompletesItsReadinessOnlyThroughFinish() {
        // ready() of a waiting call is a dependent of the call ahead: completing or cancelling it
        // (as Mutiny does to a stage it gives up on) must not release anyone else.
        KeyTurns t = new KeyTurns();
        KeyTurns.Turn first = t.enter(List.of("a"));
        KeyTurns.Turn second = t.enter(List.of("a"));
        KeyTurns.Turn third = t.enter(List.of("a"));
        second.ready().cancel(false);
        second.ready().complete(null);
        assertFalse(second.ready().isDone(), "a fresh dependent each time");
        assertFalse(third.ready().isDone());
        first.finish();
        second.finish();
        assertTrue(third.ready().isDone());
    }
}
