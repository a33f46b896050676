package io.presage.log;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;

/** Waiting for a log position: a mirror's causal reads, a coordinator's procedure retries. */
class PositionWaitersTest {

    @Test
    void aWaiterIsWokenWhenThePositionReachesItsSequenceAndNotBefore() {
        AtomicLong position = new AtomicLong(5);
        PositionWaiters w = new PositionWaiters(position::get);
        assertTrue(w.await(5).isDone(), "already there");
        CompletableFuture<Void> f7 = w.await(7);
        CompletableFuture<Void> f9 = w.await(9);
        position.set(7);
        w.advanced(7);
        assertTrue(f7.isDone());
        assertFalse(f9.isDone());
        w.cancel(9, f9);
        assertEquals(0, w.size(), "a waiter that gave up leaves");
    }

    @Test
    void aWaiterArrivingWhileAnotherGivesUpOnTheSamePositionIsStillWoken() throws Exception {
        // One thread keeps waiting for position 10 and giving up (a client's timeout); another adds
        // waiters that stay. Every waiter that stayed must be woken when the position gets there.
        for (int round = 0; round < 1000; round++) {
            AtomicLong position = new AtomicLong(0);
            PositionWaiters w = new PositionWaiters(position::get);
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Thread quitter = new Thread(() -> {
                while (!stop.get()) {
                    w.cancel(10, w.await(10));
                }
            });
            quitter.start();
            List<CompletableFuture<Void>> stayed = new ArrayList<>();
            for (int i = 0; i < 500; i++) {
                stayed.add(w.await(10));
            }
            stop.set(true);
            quitter.join();
            position.set(10);
            w.advanced(10);
            long woken = stayed.stream().filter(CompletableFuture::isDone).count();
            assertEquals(stayed.size(), woken, "round " + round + ": waiters lost when another gave up");
            assertEquals(0, w.size());
        }
    }

    @Test
    void aWaiterForAPositionAlreadyReachedIsDoneAtOnce() {
        PositionWaiters waiters = new PositionWaiters(() -> 5);
        assertTrue(waiters.await(5).isDone(), "a token for exactly the applied position: nothing to wait for");
        assertTrue(waiters.await(4).isDone());
        assertFalse(waiters.await(6).isDone());
        assertEquals(1, waiters.size());
    }

    @Test
    void aWaiterAddedJustAfterThePositionReachedItIsDoneThoughNoAdvanceFollows() {
        // The position moves from 4 to 5, and its advance is over, between the waiter's check and its add.
        AtomicLong calls = new AtomicLong();
        PositionWaiters waiters = new PositionWaiters(() -> calls.incrementAndGet() == 1 ? 4 : 5);
        assertTrue(waiters.await(5).isDone());
    }

    @Test
    void aCancelledWaiterLeavesAndTheOthersStay() {
        PositionWaiters waiters = new PositionWaiters(() -> 0);
        CompletableFuture<Void> gone = waiters.await(9);
        CompletableFuture<Void> staying = waiters.await(9);
        CompletableFuture<Void> elsewhere = waiters.await(12);
        waiters.cancel(9, gone);
        assertEquals(2, waiters.size());
        waiters.cancel(9, new CompletableFuture<>()); // not one of them: changes nothing
        waiters.cancel(10, staying); // not at that position
        assertEquals(2, waiters.size());
        waiters.cancel(9, staying);
        waiters.cancel(12, elsewhere);
        assertEquals(0, waiters.size());
    }
}
