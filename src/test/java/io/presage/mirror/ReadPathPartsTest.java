package io.presage.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.presage.api.ApiException;
import io.presage.coord.Tokens;

/** The small parts of the read path: options, pending keys, batched reconciliation (causal waiters: {@code log.PositionWaitersTest}). */
class ReadPathPartsTest {

    @Test
    void aBatchReadOptionComesFromTheBodyOrTheQueryAndTwoDifferentValuesAre400() throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        ReadOptions o = ReadOptions.parseBatch(json.readTree("{\"consistency\":\"strong\",\"timeoutMs\":7}"),
                null, "0.5", null, null, 5000, 60000);
        assertEquals(ReadOptions.Consistency.STRONG, o.consistency());
        assertEquals(7, o.timeoutMs());
        assertEquals(0.5, o.minConfidence(), "from the query");
        assertEquals(ReadOptions.Consistency.CAUSAL, ReadOptions.parseBatch(json.readTree("{\"consistency\":\"causal\"}"),
                "causal", null, null, null, 5000, 60000).consistency(), "the same value in both is fine");
        ApiException twice = assertThrows(ApiException.class, () -> ReadOptions.parseBatch(
                json.readTree("{\"consistency\":\"strong\"}"), "causal", null, null, null, 5000, 60000));
        assertEquals(400, twice.status());
        ApiException notScalar = assertThrows(ApiException.class, () -> ReadOptions.parseBatch(
                json.readTree("{\"timeoutMs\":[1]}"), null, null, null, null, 5000, 60000));
        assertEquals(400, notScalar.status());
    }

    @Test
    void anUnreachableCoordinatorIsDescribedInWordsNotByTheExceptionsClass() {
        assertEquals("Connection refused: /127.0.0.1:8080",
                CoordinatorClient.why(new java.net.ConnectException("Connection refused: /127.0.0.1:8080")));
        assertEquals("timed out", CoordinatorClient.why(new java.util.concurrent.TimeoutException()));
        assertEquals("the connection failed", CoordinatorClient.why(new java.io.IOException(" ")));
    }

    /**
     * minConfidence is a decimal number: Java's double syntax took {@code 0x1p-1} (hex), {@code 0.5d}, {@code 1f}
     * and {@code " .5"} (spaces trimmed) too, which no client means and another implementation would refuse.
     */
    @Test
    void minConfidenceIsADecimalNumberNotJavasDoubleSyntax() {
        for (String bad : List.of("0x1p-1", "0.5d", "0.5D", "1f", " .5", "0.5 ", "0.5\t", "Infinity", "+.", "1e", "0..5")) {
            ApiException e = assertThrows(ApiException.class, () -> ReadOptions.parse(null, bad, null, null, 5000, 60000), bad);
            assertEquals(400, e.status(), bad);
            assertTrue(e.getMessage().contains("minConfidence"), bad);
        }
        for (String good : List.of("0", "1", "0.5", ".5", "1.", "5e-1", "5E-1", "0.50", "+0.5", "1.0e0")) {
            assertEquals(Double.parseDouble(good), ReadOptions.parse(null, good, null, null, 5000, 60000).minConfidence(), good);
        }
    }

    @Test
    void readOptionsParseAndRefuseBadValuesWith400() {
        ReadOptions d = ReadOptions.parse(null, null, null, null, 5000, 60000);
        assertEquals(ReadOptions.Consistency.PREDICTIVE, d.consistency());
        assertFalse(d.hasMinConfidence());
        assertEquals(-1, d.after());
        assertEquals(5000, d.timeoutMs());
        ReadOptions o = ReadOptions.parse("CAUSAL", "0.9", Tokens.of(77), "999999", 5000, 60000);
        assertEquals(ReadOptions.Consistency.CAUSAL, o.consistency());
        assertEquals(0.9, o.minConfidence());
        assertEquals(77, o.after());
        assertEquals(60000, o.timeoutMs(), "capped");
        for (String[] bad : new String[][] {{"eventual", null, null, null}, {null, "1.01", null, null},
                {null, "-0", null, null}, {null, "NaN", null, null}, {null, null, "p1.", null},
                {null, null, "x1.5", null}, {null, null, null, "-5"}, {null, null, null, "1.5"}}) {
            if ("-0".equals(bad[1])) {
                continue; // -0 is 0: accepted
            }
            ApiException e = assertThrows(ApiException.class,
                    () -> ReadOptions.parse(bad[0], bad[1], bad[2], bad[3], 5000, 60000), String.join(",", String.valueOf(bad[0])));
            assertEquals(400, e.status());
        }
    }

    @Test
    void aKeyIsPendingUntilThePositionPassesItsHighestReceivedSequence() {
        PendingKeys p = new PendingKeys();
        p.received("k", 4);
        p.received("k", 6);
        assertEquals(6, p.highest("k"));
        p.applied("k", 4);
        assertEquals(6, p.highest("k"), "still an update above 4");
        p.applied("k", 6);
        assertEquals(0, p.highest("k"));
        assertEquals(0, p.size());
    }

    @Test
    void aBatchOptionInBodyAndQueryIsTheSameNumberHoweverWritten() throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        ReadOptions o = ReadOptions.parseBatch(json.readTree("{\"minConfidence\":0.5,\"timeoutMs\":5.0}"),
                null, "0.50", null, "5", 1000, 60_000);
        assertEquals(0.5, o.minConfidence(), 1e-12);
        assertEquals(5, o.timeoutMs());
        assertThrows(io.presage.api.ApiException.class, () -> ReadOptions.parseBatch(
                json.readTree("{\"minConfidence\":0.5}"), null, "0.6", null, null, 1000, 60_000), "different values");
        assertThrows(io.presage.api.ApiException.class, () -> ReadOptions.parseBatch(
                json.readTree("{\"timeoutMs\":1e999999999}"), null, null, null, null, 1000, 60_000), "refused, not written out");
        for (String huge : new String[] {"10e2147483647", "100e2147483647", "1e-2147483648"}) {
            // In both the body and the query: compared as plain numbers, whose scale here is past an int's range.
            assertThrows(io.presage.api.ApiException.class, () -> ReadOptions.parseBatch(json.readTree("{\"timeoutMs\":5}"),
                    null, null, null, huge, 1000, 60_000), "timeoutMs " + huge);
            assertThrows(io.presage.api.ApiException.class, () -> ReadOptions.parseBatch(
                    json.readTree("{\"minConfidence\":0.5}"), null, huge, null, null, 1000, 60_000), "minConfidence " + huge);
        }
    }

    @Test
    void reconciliationsAskedWhileOneIsInFlightGoOutTogetherInOneRequest() throws Exception {
        List<List<String>> sent = new ArrayList<>();
        List<CompletableFuture<ReconcileBatcher.Reconciled>> answers = new ArrayList<>();
        ReconcileBatcher b = new ReconcileBatcher(keys -> {
            sent.add(keys);
            CompletableFuture<ReconcileBatcher.Reconciled> f = new CompletableFuture<>();
            answers.add(f);
            return f;
        }, 3, 60_000, 100);
        CompletableFuture<ReconcileBatcher.Reconciled> first = b.reconcile(List.of("a"));
        CompletableFuture<ReconcileBatcher.Reconciled> second = b.reconcile(List.of("b", "c"));
        CompletableFuture<ReconcileBatcher.Reconciled> third = b.reconcile(List.of("c"));
        CompletableFuture<ReconcileBatcher.Reconciled> fourth = b.reconcile(List.of("d", "e"));
        assertEquals(List.of(List.of("a")), sent, "one request in flight");
        answers.get(0).complete(new ReconcileBatcher.Reconciled(Map.of(), 1, 0));
        assertEquals(1, first.get(1, TimeUnit.SECONDS).sequence());
        assertEquals(List.of("b", "c"), sent.get(1), "the waiting ones together, as many as fit in one POST");
        answers.get(1).complete(new ReconcileBatcher.Reconciled(Map.of(), 2, 0));
        assertEquals(2, second.get().sequence());
        assertEquals(2, third.get().sequence());
        assertEquals(List.of("d", "e"), sent.get(2));
        answers.get(2).completeExceptionally(new IllegalStateException("down"));
        assertThrows(ExecutionException.class, fourth::get);
        b.reconcile(List.of("z"));
        assertEquals(List.of("z"), sent.get(3), "after a failure the next one goes out at once");
    }

    @Test
    void requestsRefusedAsTooLargeTogetherAreSentAgainOneByOneAndOnlyTheTooLargeOneIsRefused() throws Exception {
        // The coordinator's answer budget: a request for "big" is too large alone, two small ones fit.
        List<List<String>> sent = new ArrayList<>();
        List<CompletableFuture<ReconcileBatcher.Reconciled>> pending = new ArrayList<>();
        ReconcileBatcher b = new ReconcileBatcher(keys -> {
            sent.add(keys);
            CompletableFuture<ReconcileBatcher.Reconciled> f = new CompletableFuture<>();
            if (keys.size() > 1 || keys.contains("big")) {
                f.completeExceptionally(io.presage.api.ApiException.tooLarge("the values asked for are too many bytes"));
            } else {
                pending.add(f);
            }
            return f;
        }, 10, 60_000, 100);
        CompletableFuture<ReconcileBatcher.Reconciled> blocker = b.reconcile(List.of("first"));
        CompletableFuture<ReconcileBatcher.Reconciled> small1 = b.reconcile(List.of("s1"));
        CompletableFuture<ReconcileBatcher.Reconciled> small2 = b.reconcile(List.of("s2"));
        CompletableFuture<ReconcileBatcher.Reconciled> big = b.reconcile(List.of("big"));
        pending.get(0).complete(new ReconcileBatcher.Reconciled(Map.of(), 1, 0)); // "first" answered: the three go out
        assertEquals(1, blocker.get(1, TimeUnit.SECONDS).sequence());
        assertEquals(List.of("s1", "s2", "big"), sent.get(1), "merged first");
        assertEquals(List.of(List.of("s1"), List.of("s2"), List.of("big")), sent.subList(2, 5), "then each alone");
        pending.get(1).complete(new ReconcileBatcher.Reconciled(Map.of(), 2, 0));
        pending.get(2).complete(new ReconcileBatcher.Reconciled(Map.of(), 3, 0));
        assertEquals(2, small1.get(1, TimeUnit.SECONDS).sequence(), "answered though its merge was refused");
        assertEquals(3, small2.get(1, TimeUnit.SECONDS).sequence());
        ExecutionException e = assertThrows(ExecutionException.class, big::get);
        assertEquals(413, ((io.presage.api.ApiException) e.getCause()).status(), "only the one too large by itself");
    }

    /**
     * A coordinator that answers nothing until each POST times out: requests behind the one in flight
     * fail 503 at their own deadline instead of waiting POST after POST, the ones that timed out in the
     * queue are never sent, and past the cap new ones are refused at once.
     */
    @Test
    void behindASilentCoordinatorRequestsFailAtTheirDeadlineAndTheQueueIsBounded() throws Exception {
        List<List<String>> sent = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompletableFuture<ReconcileBatcher.Reconciled> firstPost = new CompletableFuture<>();
        ReconcileBatcher b = new ReconcileBatcher(keys -> {
            sent.add(keys);
            return sent.size() == 1 ? firstPost : new CompletableFuture<>();
        }, 100, 200, 3);
        List<CompletableFuture<ReconcileBatcher.Reconciled>> waiting = new ArrayList<>();
        for (String k : List.of("a", "b", "c", "d")) {
            waiting.add(b.reconcile(List.of(k)));
        }
        CompletableFuture<ReconcileBatcher.Reconciled> refused = b.reconcile(List.of("e"));
        assertTrue(refused.isCompletedExceptionally(), "a fifth is refused at once: three wait already");
        assertEquals(503, status(refused));
        for (CompletableFuture<ReconcileBatcher.Reconciled> f : waiting) {
            assertEquals(503, status(f), "failed at its deadline, not left waiting for the POST");
        }
        CompletableFuture<ReconcileBatcher.Reconciled> afterThem = b.reconcile(List.of("g"));
        assertTrue(!afterThem.isDone(), "the timed-out ones no longer count against the cap");
        firstPost.completeExceptionally(new IllegalStateException("timed out")); // the HTTP timeout, later
        assertEquals(List.of("a"), sent.get(0));
        for (List<String> keys : sent.subList(1, sent.size())) {
            assertEquals(List.of("g"), keys, "the ones that timed out in the queue are not sent");
        }
    }

    private static int status(CompletableFuture<?> f) throws InterruptedException {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return ((io.presage.api.ApiException) e.getCause()).status();
        } catch (java.util.concurrent.TimeoutException e) {
            return -1;
        }
        return 200;
    }
}
