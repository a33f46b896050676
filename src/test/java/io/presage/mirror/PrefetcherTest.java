package io.presage.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.junit.jupiter.api.Test;

import io.presage.apply.StoredItem;
import io.presage.predict.PredictionScore;
import io.presage.predict.SessionTrail;
import io.presage.predict.Successors;

/**
 * The prefetcher's decisions with a real model: what it learns from sessions, and when it asks the
 * coordinator (recorded here, answered by hand) and when not.
 */
class PrefetcherTest {
    private double staleMillis = 2_000;
    private double rttMillis = 5;
    private final Map<String, Double> confidence = new HashMap<>();
    private final List<List<String>> asked = new ArrayList<>();
    private final List<CompletableFuture<Object>> answers = new ArrayList<>();

    private Prefetcher prefetcher() {
        Prefetcher.Mirror mirror = new Prefetcher.Mirror() {
            @Override
            public double staleMillis(long nowMillis) {
                return staleMillis;
            }

            @Override
            public double reconcileRttMillis() {
                return rttMillis;
            }
        };
        return new Prefetcher(new Successors(60_000, 4, 1_000, 2.5), new SessionTrail(30_000, 1_000),
                new PredictionScore(10_000, 1_000), mirror, (k, now) -> confidence.getOrDefault(k, 0.5),
                keys -> {
                    asked.add(keys);
                    CompletableFuture<Object> f = new CompletableFuture<>();
                    answers.add(f);
                    return f;
                }, 0.5, 0.99);
    }

    /** Three sessions each read user → orders → cart. */
    private static void teach(Prefetcher p, long now) {
        for (int s = 0; s < 3; s++) {
            p.read("s" + s, "user", now);
            p.read("s" + s, "orders", now);
            p.read("s" + s, "cart", now);
        }
    }

    @Test
    void aLaggingMirrorPrefetchesWhatASessionReadsNextAndCountsTheHit() {
        Prefetcher p = prefetcher();
        teach(p, 0);
        assertEquals(List.of(), asked, "fewer than three transitions out of a key predict nothing");
        p.read("new", "user", 100);
        assertEquals(List.of(List.of("orders")), asked);
        p.read("new", "orders", 150);
        assertEquals(List.of(List.of("orders"), List.of("cart")), asked);
        assertEquals(1, p.score().hits(), "orders was the session's next read, as predicted");
        assertEquals(1.0, p.score().precision(), 1e-12, "cart is not decided yet");
        assertEquals(2, p.prefetched());
    }

    @Test
    void aMirrorWhoseStalenessIsWithinARoundTripOnlyLearns() {
        staleMillis = 4;
        rttMillis = 5;
        Prefetcher p = prefetcher();
        teach(p, 0);
        p.read("new", "user", 100);
        assertEquals(List.of(), asked, "a confirmation would be older than the log's own knowledge");
        assertTrue(p.skippedHealthy() > 0);
        assertEquals(1.0, p.model().probability("user", "orders", 100), 1e-12);
    }

    @Test
    void aConfirmationThatWouldBeOlderThanTheLogByTheTimeTheSessionReadsAgainIsNotFetched() {
        staleMillis = 30;
        rttMillis = 5;
        Prefetcher p = prefetcher();
        long now = 0;
        for (int s = 0; s < 3; s++) { // sessions that pause 50 ms between reads
            p.read("s" + s, "user", now += 50);
            p.read("s" + s, "orders", now += 50);
        }
        p.read("new", "user", now += 50);
        assertEquals(List.of(), asked, "ready in 5 ms, read in about 50: 55 ms old against the log's 30");
        assertEquals(50, p.sessionGapMillis(), 1e-9);
        staleMillis = 60; // one read at 60 moves the usual S from 30 to 33 only: one jump does not open the gate
        p.read("new2", "user", now += 50);
        assertEquals(List.of(), asked);
        staleMillis = 300; // a mirror falling behind: 33 → 60
        p.read("new3", "user", now += 50);
        assertEquals(List.of(List.of("orders")), asked);
    }

    @Test
    void aKeyAlreadyConfidentEnoughIsNotPrefetched() {
        confidence.put("orders", 0.995);
        Prefetcher p = prefetcher();
        teach(p, 0);
        p.read("new", "user", 100);
        assertEquals(List.of(), asked);
    }

    @Test
    void oneKeyIsPrefetchedOnceWhileItsRequestIsUnderWayAndAgainAfterIt() {
        Prefetcher p = prefetcher();
        teach(p, 0);
        p.read("a", "user", 100);
        p.read("b", "user", 100);
        assertEquals(List.of(List.of("orders")), asked, "the second read finds it under way");
        CompletableFuture<?> underWay = p.underWay("orders").answer();
        assertTrue(underWay != null && !underWay.isDone());
        answers.get(0).completeExceptionally(new RuntimeException("coordinator unreachable"));
        assertTrue(underWay.isDone(), "a read waiting for it is released, whatever the outcome");
        assertEquals(null, p.underWay("orders"));
        p.read("c", "user", 100);
        assertEquals(2, asked.size(), "a failed prefetch can be tried again");
    }

    @Test
    void aConfirmationCountsOnlyForTheVersionItConfirmedAndAbsentKeysAreVersionZero() {
        Confirmations c = new Confirmations(100);
        Map<String, StoredItem> items = new HashMap<>();
        items.put("k", new StoredItem("k", new byte[] {'1'}, 42, Map.of("c", 42L), 7));
        c.confirmed(List.of("k", "gone"), items, 1_000);
        assertEquals(1_000, c.confirmedAt("k", 42));
        assertEquals(0, c.confirmedAt("k", 41), "an older local copy was not confirmed");
        assertEquals(1_000, c.confirmedAt("gone", 0));
        c.confirmed(List.of("k"), items, 900); // an answer to an earlier request, arriving late
        assertEquals(1_000, c.confirmedAt("k", 42), "the later confirmation stands");
    }

    /**
     * A reconciliation that found a newer version shows an older local copy stale: its reads get
     * confidence 0, as with a pending update. A copy as new or newer is not; nor does an answer that
     * the key is absent make any copy stale (the copy may be a write after that deletion).
     */
    @Test
    void aReconciliationThatFoundANewerVersionMarksOlderCopiesStale() {
        Confirmations c = new Confirmations(100);
        Map<String, StoredItem> items = new HashMap<>();
        items.put("k", new StoredItem("k", new byte[] {'1'}, 42, Map.of("c", 42L), 7));
        c.confirmed(List.of("k", "gone"), items, 1_000);
        assertTrue(c.knownNewer("k", 41), "an older copy is stale");
        assertTrue(c.knownNewer("k", 0), "no copy at all, while the coordinator has one");
        assertFalse(c.knownNewer("k", 42));
        assertFalse(c.knownNewer("k", 43), "applied since: newer than what the coordinator answered");
        assertFalse(c.knownNewer("gone", 17), "absent at the coordinator says nothing of a later write");
        assertFalse(c.knownNewer("never-asked", 1));
    }
}
