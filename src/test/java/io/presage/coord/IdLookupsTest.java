package io.presage.coord;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

import org.junit.jupiter.api.Test;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The id lookups against a store that answers when the test says so: one query in flight at a time,
 * everything asked meanwhile in the next one, and every caller answered with exactly its own ids.
 */
class IdLookupsTest {

    /** A store whose queries the test completes, and what it holds. */
    private static final class Store implements IdLookups.Query<String> {
        final Map<String, String> rows = new HashMap<>();
        final List<List<String>> asked = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<CompletableFuture<Map<String, String>>> pending = java.util.Collections.synchronizedList(new ArrayList<>());

        @Override
        public CompletableFuture<Map<String, String>> find(List<String> ids) {
            asked.add(ids);
            CompletableFuture<Map<String, String>> f = new CompletableFuture<>();
            pending.add(f);
            return f;
        }

        /** Answers the oldest query as the store would: every row it asks for that exists. */
        void answerOldest() {
            List<String> ids = asked.get(asked.size() - pending.size());
            Map<String, String> found = new HashMap<>();
            for (String id : ids) {
                if (rows.containsKey(id)) {
                    found.put(id, rows.get(id));
                }
            }
            pending.remove(0).complete(found);
        }
    }

    @Test
    void aLoneIdIsAskedAtOnceAndIdsAskedMeanwhileGoTogetherInTheNextQuery() throws Exception {
        Store store = new Store();
        store.rows.put("b", "committed-b");
        IdLookups<String> lookups = new IdLookups<>(store);

        CompletableFuture<Map<String, String>> a = lookups.find(List.of("a"));
        assertEquals(List.of(List.of("a")), store.asked, "nothing in flight: sent at once");
        CompletableFuture<Map<String, String>> b = lookups.find(List.of("b"));
        CompletableFuture<Map<String, String>> c = lookups.find(List.of("c", "b"));
        assertEquals(1, store.asked.size(), "one query in flight at a time");

        store.answerOldest();
        assertEquals(Map.of(), a.get());
        assertEquals(List.of("b", "c"), store.asked.get(1), "both waiting callers' ids, each once, in one query");
        assertFalse(b.isDone());

        store.answerOldest();
        assertEquals(Map.of("b", "committed-b"), b.get());
        assertEquals(Map.of("b", "committed-b"), c.get(), "each caller gets its own ids only");
        assertEquals(2, lookups.queries());

        lookups.find(List.of("d"));
        assertEquals(3, store.asked.size(), "idle again: the next id goes at once");
    }

    @Test
    void aFailedQueryFailsItsCallersOnlyAndTheNextQueryStillGoes() {
        Store store = new Store();
        IdLookups<String> lookups = new IdLookups<>(store);
        CompletableFuture<Map<String, String>> first = lookups.find(List.of("x"));
        CompletableFuture<Map<String, String>> second = lookups.find(List.of("y"));
        RuntimeException down = new IllegalStateException("database down");
        store.pending.remove(0).completeExceptionally(down);
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, first::get);
        assertSame(down, e.getCause());
        assertEquals(2, store.asked.size(), "the waiting id is asked after the failure");
        assertFalse(second.isDone());
        store.answerOldest();
        assertTrue(second.isDone() && !second.isCompletedExceptionally());
    }

    @Test
    void aQueryThatThrowsInsteadOfFailingItsStageStillAnswersAndFreesTheNext() throws Exception {
        boolean[] broken = {true};
        IdLookups<String> lookups = new IdLookups<>(ids -> {
            if (broken[0]) {
                throw new IllegalStateException("pool closed");
            }
            return CompletableFuture.completedFuture(Map.of("z", "ok"));
        });
        assertTrue(lookups.find(List.of("z")).isCompletedExceptionally());
        broken[0] = false;
        assertEquals(Map.of("z", "ok"), lookups.find(List.of("z")).get());
    }

    /**
     * Callers arrive and queries complete in a random interleaving. The model: the store's rows. Every
     * caller must get exactly the rows of its ids; there is never more than one query in flight; and
     * no query is sent without a caller waiting for it.
     */
    @Property(tries = 500)
    void everyCallerGetsExactlyItsOwnRowsWhateverTheInterleaving(@ForAll long seed,
            @ForAll @IntRange(min = 1, max = 60) int callers) throws Exception {
        Random rnd = new Random(seed);
        Store store = new Store();
        for (int i = 0; i < 20; i++) {
            if (rnd.nextBoolean()) {
                store.rows.put("id" + i, "row" + i);
            }
        }
        IdLookups<String> lookups = new IdLookups<>(store);
        List<List<String>> asked = new ArrayList<>();
        List<CompletableFuture<Map<String, String>>> answers = new ArrayList<>();
        int arrived = 0;
        while (arrived < callers || !store.pending.isEmpty()) {
            assertTrue(store.pending.size() <= 1, "one query in flight at most");
            if (arrived < callers && (store.pending.isEmpty() || rnd.nextInt(3) > 0)) {
                List<String> ids = new ArrayList<>();
                for (int k = 1 + rnd.nextInt(8); k > 0; k--) {
                    ids.add("id" + rnd.nextInt(20));
                }
                asked.add(ids);
                answers.add(lookups.find(ids));
                arrived++;
            } else {
                store.answerOldest();
            }
        }
        Set<String> everAsked = new HashSet<>();
        store.asked.forEach(everAsked::addAll);
        for (int i = 0; i < callers; i++) {
            Map<String, String> expected = new HashMap<>();
            for (String id : asked.get(i)) {
                if (store.rows.containsKey(id)) {
                    expected.put(id, store.rows.get(id));
                }
            }
            assertEquals(expected, answers.get(i).get(), "caller " + i + " asked " + asked.get(i));
            assertTrue(everAsked.containsAll(asked.get(i)));
        }
        assertTrue(store.asked.size() <= callers, store.asked.size() + " queries for " + callers + " callers");
        assertEquals(store.asked.size(), lookups.queries());
        assertEquals(callers, lookups.lookups());
    }

    @Test
    void aQueryThatNeverEndsFailsAfterTheTimeoutAndTheLookupsBehindItGoInTheNextQuery() throws Exception {
        Store store = new Store(); // answers only when told: the first query is never answered
        store.rows.put("b", "committed-b");
        IdLookups<String> lookups = new IdLookups<>(store, java.time.Duration.ofMillis(200));

        CompletableFuture<Map<String, String>> a = lookups.find(List.of("a"));
        CompletableFuture<Map<String, String>> b = lookups.find(List.of("b"));
        ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class,
                () -> a.get(10, java.util.concurrent.TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof java.util.concurrent.TimeoutException, e.toString());
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (store.asked.size() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(List.of(List.of("a"), List.of("b")), store.asked, "the waiting lookup was sent once the first timed out");
        store.answerOldest(); // the stuck one, late: changes nothing
        store.answerOldest();
        assertEquals(Map.of("b", "committed-b"), b.get(10, java.util.concurrent.TimeUnit.SECONDS));
    }
}
