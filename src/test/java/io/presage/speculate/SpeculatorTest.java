package io.presage.speculate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.coord.TxnSpec;
import io.presage.proc.Procedure;
import io.presage.proc.Procedures;

class SpeculatorTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Procedure TRANSFER = Procedures.get("transfer");
    private static final Procedure INCREMENT = Procedures.get("increment");

    private final ToyCoordinator coordinator = new ToyCoordinator();
    private final ToyCoordinator.AppliedLog log = new ToyCoordinator.AppliedLog();
    private final Finished finished = new Finished();
    private final AttemptJournal journal = new AttemptJournal();
    private final Speculator speculator = newSpeculator();

    /** A mirror's speculation driver; a new one with the same journal is the mirror after a restart. */
    private Speculator newSpeculator() {
        return new Speculator(coordinator, journal, (seq, stream) -> log.await(seq), JSON, "m1", finished, 1, 4, 1, 8);
    }

    @Test
    void aProcedureOnCurrentDataAnswersItsResultAtOnceAndIsCommittedOnceTheMirrorHasAppliedIt() throws Exception {
        coordinator.put("a", 100);
        coordinator.put("b", 0);
        Speculation s = new Speculation("t1");
        JsonNode args = args("{\"from\":\"a\",\"to\":\"b\",\"amount\":30}");
        speculator.procedure(s, TRANSFER, args, coordinator.snapshot(List.of("a", "b")), false);

        assertEquals(70, s.view().speculativeResult().path("a").asInt(), "the 202's result, from local data");
        assertEquals(List.of("t1#0"), coordinator.committedIds);
        Thread.sleep(20);
        assertEquals(Speculation.Status.SPECULATIVE, s.view().status(), "committed, but not applied here yet");
        assertTrue(s.view().sequence() > 0);

        log.advance(coordinator.sequence());
        finished.await(s);
        assertEquals(Speculation.Status.COMMITTED, s.view().status());
        assertEquals(s.view().speculativeResult(), s.view().result());
        assertEquals(70, coordinator.value("a").asInt());
        assertEquals(30, coordinator.value("b").asInt());
    }

    @Test
    void aProcedureOnStaleDataIsReexecutedOnTheLatestDataAndReportsTheNewResult() throws Exception {
        coordinator.put("n", 5);
        Speculator.Snapshot stale = coordinator.snapshot(List.of("n"));
        coordinator.put("n", 10); // the mirror has not seen this yet
        Speculation s = new Speculation("inc");
        speculator.procedure(s, INCREMENT, args("{\"key\":\"n\",\"by\":1}"), stale, false);
        log.advance(Long.MAX_VALUE);
        finished.await(s);

        assertEquals(Speculation.Status.REEXECUTED, s.view().status());
        assertEquals(6, s.view().speculativeResult().asInt());
        assertEquals(11, s.view().result().asInt());
        assertEquals(11, coordinator.value("n").asInt());
        assertEquals(List.of("inc#0", "inc#1"), coordinator.submittedIds);
        assertEquals(List.of("inc#1"), coordinator.committedIds);
        assertEquals(2, s.view().attempts());
    }

    /**
     * A retry of a call that committed elsewhere (at the coordinator, or speculated at another mirror) as
     * attempt 1, after attempt 0 aborted: a coordinator restarted since has forgotten that abort, so
     * sending attempt 0 again would commit the increment a second time.
     */
    @Test
    void aRetriedCallWhoseIdCommittedBeforeIsConfirmedWithThatCommitAndSendsNothing() throws Exception {
        coordinator.put("n", 5);
        long v = coordinator.snapshot(List.of("n")).versions().get("n");
        CoordinatorAnswer earlier = coordinator.commit(new TxnSpec("again#1", List.of(new TxnSpec.Read("n", v)),
                List.of(new TxnSpec.Write("n", "6".getBytes())), "m2", "6")).get();
        assertInstanceOf(CoordinatorAnswer.Committed.class, earlier);

        Speculation s = new Speculation("again");
        speculator.procedure(s, INCREMENT, args("{\"key\":\"n\"}"), coordinator.snapshot(List.of("n")), true);
        assertEquals(7, s.view().speculativeResult().asInt(), "the 202 still answers what local data gives");
        log.advance(Long.MAX_VALUE);
        finished.await(s);

        assertEquals(List.of("again#1"), coordinator.submittedIds, "nothing sent: the call had committed");
        assertEquals(6, coordinator.value("n").asInt(), "incremented once");
        assertEquals(Speculation.Status.REEXECUTED, s.view().status(), "committed, with another result than the 202's");
        assertEquals(6, s.view().result().asInt(), "the committed call's result");
        assertEquals(0, s.view().attempts());
    }

    /**
     * The earlier call's result comes back parsed from JSON text (6 is an int there), the local plan's
     * is a big integer: the same number, so the speculation was right and is COMMITTED. Compared as
     * Java objects they differed, and such a call was reported REEXECUTED with the 202's own result.
     */
    @Test
    void aRetriedCallWhoseEarlierCommitGaveTheSameResultIsCommittedNotReexecuted() throws Exception {
        coordinator.put("same", 5);
        Speculator.Snapshot before = coordinator.snapshot(List.of("same"));
        coordinator.commit(new TxnSpec("same-call#0", List.of(new TxnSpec.Read("same", before.versions().get("same"))),
                List.of(new TxnSpec.Write("same", "6".getBytes())), "m2", "6")).get();

        Speculation s = new Speculation("same-call");
        speculator.procedure(s, INCREMENT, args("{\"key\":\"same\"}"), before, true);
        log.advance(Long.MAX_VALUE);
        finished.await(s);
        assertEquals(Speculation.Status.COMMITTED, s.view().status(), s.view().toString());
        assertEquals(6, s.view().result().asInt());
        assertEquals(List.of("same-call#0"), coordinator.submittedIds, "nothing sent: the call had committed");
    }

    /** The same, when the mirror restarted before recording that outcome: nothing of its own was ever sent. */
    @Test
    void aResumedCallThatSentNothingAndWhoseIdCommittedBeforeTakesThatCallsResult() throws Exception {
        incrementedElsewhere("again2#1", "q");
        Speculation s = new Speculation("again2");
        newSpeculator().resume(s, INCREMENT, args("{\"key\":\"q\"}"), 0, null, null);
        log.advance(Long.MAX_VALUE);
        finished.await(s);
        assertEquals(Speculation.Status.REEXECUTED, s.view().status());
        assertEquals(6, s.view().result().asInt(), "the committed call's result");
        assertEquals(List.of("again2#1"), coordinator.submittedIds);
    }

    /**
     * Attempt 0 of a call was committed at the coordinator by another caller (its own run, result 6) before
     * this mirror sent its own attempt 0, planned on other local data (result 10). The coordinator answers
     * the repeat with the first commit, but without its result (its store could not tell it in time). The
     * mirror took its own plan for what committed and reported COMMITTED with 10; the key holds 6.
     */
    @Test
    void anAttemptAnsweredCommittedWithoutItsResultIsReportedWithTheResultThatCommitted() throws Exception {
        long v = incrementedElsewhere("rs-call#0", "rs");
        Speculator.Snapshot local = new Speculator.Snapshot(Map.of("rs", JSON.valueToTree(9)), Map.of("rs", v));
        coordinator.resultlessAnswers = 1;

        Speculation s = new Speculation("rs-call");
        speculator.procedure(s, INCREMENT, args("{\"key\":\"rs\"}"), local, false);
        assertEquals(10, s.view().speculativeResult().asInt());
        log.advance(Long.MAX_VALUE);
        finished.await(s);

        assertEquals(6, coordinator.value("rs").asInt());
        assertEquals(Speculation.Status.REEXECUTED, s.view().status(), s.view().toString());
        assertEquals(6, s.view().result().asInt(), "the result that committed, not the mirror's plan");
    }

    /** Key {@code key} set to 5, then incremented to 6 by another caller's commit under {@code id}; the version it read. */
    private long incrementedElsewhere(String id, String key) throws Exception {
        coordinator.put(key, 5);
        long v = coordinator.snapshot(List.of(key)).versions().get(key);
        coordinator.commit(new TxnSpec(id, List.of(new TxnSpec.Read(key, v)),
                List.of(new TxnSpec.Write(key, "6".getBytes())), "m2", "6")).get();
        return v;
    }

    @Test
    void aCallWithItsOwnIdThatNeverCommittedIsSentAsUsual() throws Exception {
        coordinator.put("m", 1);
        Speculation s = new Speculation("fresh");
        speculator.procedure(s, INCREMENT, args("{\"key\":\"m\"}"), coordinator.snapshot(List.of("m")), true);
        log.advance(Long.MAX_VALUE);
        finished.await(s);
        assertEquals(Speculation.Status.COMMITTED, s.view().status());
        assertEquals(List.of("fresh#0"), coordinator.committedIds);
        assertEquals(2, coordinator.value("m").asInt());
    }

    @Test
    void aRefusalOnLocalDataIsNotFinalButOneOnTheLatestDataRollsBackWithItsReason() throws Exception {
        coordinator.put("a", 0);
        coordinator.put("b", 0);
        Speculator.Snapshot poor = coordinator.snapshot(List.of("a", "b"));
        coordinator.put("a", 50); // funds the mirror has not seen
        Speculation funded = new Speculation("funded");
        speculator.procedure(funded, TRANSFER, args("{\"from\":\"a\",\"to\":\"b\",\"amount\":20}"), poor, false);
        log.advance(Long.MAX_VALUE);
        finished.await(funded);
        assertEquals(Speculation.Status.REEXECUTED, funded.view().status());
        assertNull(funded.view().speculativeResult(), "nothing was speculated: the local run refused");
        assertEquals(30, funded.view().result().path("a").asInt());

        Speculation overdraft = new Speculation("overdraft");
        speculator.procedure(overdraft, TRANSFER, args("{\"from\":\"a\",\"to\":\"b\",\"amount\":31}"),
                coordinator.snapshot(List.of("a", "b")), false);
        finished.await(overdraft);
        assertEquals(Speculation.Status.ROLLED_BACK, overdraft.view().status());
        assertEquals("INSUFFICIENT_FUNDS", overdraft.view().reason());
        // Attempt 0, never skipped: another run of the call (same id) walks the attempt ids from #0.
        assertEquals(List.of("funded#0"), coordinator.committedIds, "the overdraft committed nothing");
    }

    @Test
    void aPlainTransactionThatFailsCertificationIsRolledBackWithItsConflicts() throws Exception {
        Speculation s = new Speculation("plain");
        speculator.transaction(s, staleRead("plain", "k", "w"));
        finished.await(s);
        assertEquals(Speculation.Status.ROLLED_BACK, s.view().status());
        assertEquals("STALE_READ", s.view().reason());
        assertEquals(List.of("k"), s.view().conflicts());
        assertEquals(List.of("plain"), coordinator.submittedIds, "a client-run transaction is never re-run");
        assertNull(coordinator.value("w"));
    }

    @Test
    void anAttemptWhoseAnswerIsLostIsSentAgainUnderTheSameIdAndCommitsOnce() throws Exception {
        coordinator.put("c", 0);
        coordinator.loseAnswers = 2;
        coordinator.unavailable = 2;
        Speculation s = new Speculation("lost");
        speculator.procedure(s, INCREMENT, args("{\"key\":\"c\"}"), coordinator.snapshot(List.of("c")), false);
        log.advance(Long.MAX_VALUE);
        finished.await(s);
        assertEquals(Speculation.Status.COMMITTED, s.view().status());
        assertEquals(List.of("lost#0", "lost#0", "lost#0", "lost#0", "lost#0"), coordinator.submittedIds);
        assertEquals(List.of("lost#0"), coordinator.committedIds);
        assertEquals(1, coordinator.value("c").asInt());
    }

    /**
     * The first send commits and its answer is lost; the resend is refused (413: a coordinator failed over to
     * with lower limits, or a proxy's page). A refusal is not the id's outcome: the coordinator is asked, and
     * the commit reported. It was ROLLED_BACK at once, for a transaction that had committed.
     */
    @Test
    void aResendRefusedAfterTheFirstSendCommittedIsReportedCommittedNotRolledBack() throws Exception {
        coordinator.loseAnswers = 1;
        coordinator.refuse = 1;
        Speculation s = new Speculation("refused-resend");
        speculator.transaction(s, new TxnSpec("refused-resend", List.of(),
                List.of(new TxnSpec.Write("r", "1".getBytes(java.nio.charset.StandardCharsets.UTF_8))), "m"));
        log.advance(Long.MAX_VALUE);
        finished.await(s);
        assertEquals(List.of("refused-resend", "refused-resend"), coordinator.submittedIds, "sent, then resent and refused");
        assertEquals(Speculation.Status.COMMITTED, s.view().status(), "the first send committed: " + s.view());
        assertEquals(List.of("refused-resend"), coordinator.committedIds);
    }

    @Test
    void aProcedureThatKeepsLosingIsRolledBackAfterTheLastAttempt() throws Exception {
        coordinator.put("hot", 0);
        Speculator.Snapshot stale = coordinator.snapshot(List.of("hot"));
        coordinator.put("hot", 1);
        // Every re-execution reads the latest data, then someone else writes before it is certified.
        Speculator busy = new Speculator(new Speculator.Coordinator() {
            @Override
            public java.util.concurrent.CompletableFuture<CoordinatorAnswer> commit(TxnSpec txn) {
                return coordinator.commit(txn);
            }

            @Override
            public java.util.concurrent.CompletableFuture<Speculator.Snapshot> latest(List<String> keys) {
                return coordinator.latest(keys).thenApply(now -> {
                    coordinator.put("hot", 100);
                    return now;
                });
            }

            @Override
            public java.util.concurrent.CompletableFuture<CoordinatorAnswer.Committed> committed(String id) {
                return coordinator.committed(id);
            }
        }, journal, (seq, stream) -> log.await(seq), JSON, "m1", finished, 1, 4, 1, 8);
        Speculation s = new Speculation("unlucky");
        coordinator.latestFailures = 1; // and the latest data cannot be read once: asked again
        busy.procedure(s, INCREMENT, args("{\"key\":\"hot\"}"), stale, false);
        finished.await(s);
        assertEquals(Speculation.Status.ROLLED_BACK, s.view().status());
        assertEquals("TOO_MANY_CONFLICTS", s.view().reason());
        assertEquals(Speculator.MAX_ATTEMPTS, coordinator.submittedIds.size());
        assertEquals("unlucky#" + (Speculator.MAX_ATTEMPTS - 1), coordinator.submittedIds.get(Speculator.MAX_ATTEMPTS - 1));
        assertTrue(coordinator.committedIds.isEmpty());
    }

    /**
     * Three speculations of one counter, all planned on data the mirror had not caught up on, so all
     * three lose their first attempt. Their re-executions take turns: the second and third read the
     * latest data only once the first is decided, and each commits at its first re-execution. Racing
     * instead, the later ones read the version the first is about to overwrite, and lose again.
     */
    @Test
    void reexecutionsOnTheSameKeysAtOneMirrorTakeTurnsAndNoneLosesToAnother() throws Exception {
        coordinator.put("hot", 0);
        Speculator.Snapshot stale = coordinator.snapshot(List.of("hot"));
        coordinator.put("hot", 10); // the mirror is behind
        coordinator.hold("s1#1", false); // s1's re-execution stays in flight until released
        Speculation s1 = new Speculation("s1");
        Speculation s2 = new Speculation("s2");
        Speculation s3 = new Speculation("s3");
        speculator.procedure(s1, INCREMENT, args("{\"key\":\"hot\"}"), stale, false);
        for (int i = 0; i < 500 && !coordinator.holding("s1#1"); i++) {
            Thread.sleep(10);
        }
        assertTrue(coordinator.holding("s1#1"));
        speculator.procedure(s2, INCREMENT, args("{\"key\":\"hot\"}"), stale, false);
        speculator.procedure(s3, INCREMENT, args("{\"key\":\"hot\"}"), stale, false);
        Thread.sleep(100);
        assertEquals(List.of("s1#0", "s1#1", "s2#0", "s3#0"), List.copyOf(coordinator.submittedIds),
                "s2 and s3 lost their first attempts and wait for s1's re-execution");
        coordinator.releaseNow("s1#1");
        log.advance(Long.MAX_VALUE);
        for (Speculation s : List.of(s1, s2, s3)) {
            finished.await(s);
            assertEquals(Speculation.Status.REEXECUTED, s.view().status(), s.view().toString());
            assertEquals(2, s.view().attempts(), "committed at its first re-execution: " + s.view());
        }
        assertEquals(List.of("s1#1", "s2#1", "s3#1"), coordinator.committedIds);
        assertEquals(13, coordinator.value("hot").asInt());
    }

    @Test
    void aResumedSpeculationWhoseAttemptCommittedBeforeTheRestartIsReportedAndNotRunAgain() throws Exception {
        coordinator.put("r", 0);
        Speculation before = new Speculation("resumed");
        speculator.procedure(before, INCREMENT, args("{\"key\":\"r\"}"), coordinator.snapshot(List.of("r")), false);
        assertEquals(List.of("resumed#0"), coordinator.committedIds); // then the mirror died, before hearing of it
        coordinator.restart();
        journal.speculated.put("resumed", before.view().speculativeResult()); // recorded with it before the 202

        Speculation after = new Speculation("resumed");
        journal.resume(newSpeculator(), after, INCREMENT, args("{\"key\":\"r\"}"));
        log.advance(Long.MAX_VALUE);
        finished.await(after);
        assertEquals(Speculation.Status.COMMITTED, after.view().status());
        assertEquals(1, after.view().result().asInt(), "the recorded attempt's result");
        assertEquals(List.of("resumed#0"), coordinator.committedIds);
        assertEquals(1, coordinator.value("r").asInt());
    }

    @Test
    void aResumedSpeculationThatNeverReachedTheCoordinatorRunsOnItsLatestDataAndCommitsOnce() throws Exception {
        coordinator.put("q", 41);
        Speculation s = new Speculation("never-sent");
        journal.speculated.put("never-sent", JSON.valueToTree(42)); // what its 202 answered, recorded with it
        journal.resume(speculator, s, INCREMENT, args("{\"key\":\"q\"}"));
        log.advance(Long.MAX_VALUE);
        finished.await(s);
        assertEquals(Speculation.Status.COMMITTED, s.view().status());
        assertEquals(42, s.view().result().asInt());
        assertEquals(List.of("never-sent#0"), coordinator.committedIds);
    }

    @Test
    void aResumedSpeculationWalksPastTheAttemptsThatAbortedBeforeTheRestart() throws Exception {
        coordinator.put("w", 1);
        Speculator.Snapshot stale = coordinator.snapshot(List.of("w"));
        coordinator.put("w", 2);
        // attempt 0 was recorded and aborted at the coordinator (it remembers), then the mirror died
        TxnSpec attempt0 = new TxnSpec("walk#0", List.of(new TxnSpec.Read("w", stale.versions().get("w"))),
                List.of(new TxnSpec.Write("w", "2".getBytes())), "m1");
        journal.attempting("walk", 0, attempt0, JSON.valueToTree(2));
        coordinator.commit(attempt0);
        Speculation s = new Speculation("walk");
        journal.resume(newSpeculator(), s, INCREMENT, args("{\"key\":\"w\"}"));
        log.advance(Long.MAX_VALUE);
        finished.await(s);
        assertEquals(List.of("walk#0", "walk#0", "walk#1"), coordinator.submittedIds, "attempt 0 sent again as it was");
        assertEquals(3, coordinator.value("w").asInt());
        assertEquals(Speculation.Status.REEXECUTED, s.view().status());
    }

    /**
     * The crash gap: attempt 0 aborted; the coordinator restarted (forgetting that abort); attempt 1 was
     * sent and is still running there when the mirror dies. The restarted mirror finds nothing committed,
     * and then attempt 1 commits. Sending attempt 1 again (what the attempt log recorded) gets its outcome;
     * planning again from attempt 0, on data that now includes attempt 1, committed a second increment.
     */
    @Test
    void aResumedSpeculationSendsItsRecordedAttemptAgainAndNeverCommitsASecondOneBesideItInFlight() throws Exception {
        coordinator.put("g", 1);
        Speculator.Snapshot stale = coordinator.snapshot(List.of("g"));
        coordinator.put("g", 2);
        coordinator.hold("gap#1", true); // restarts just before attempt 1 arrives, then holds it in flight
        Speculation before = new Speculation("gap");
        speculator.procedure(before, INCREMENT, args("{\"key\":\"g\"}"), stale, false);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!coordinator.holding("gap#1") && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertTrue(coordinator.holding("gap#1"), "attempt 1 in flight: " + coordinator.submittedIds);
        assertEquals(1, journal.entries.get("gap").attempt(), "recorded before it was sent");

        coordinator.releaseAfterNextCommittedCheck("gap#1"); // the mirror's "did it commit?" comes too early
        Speculation after = new Speculation("gap");
        journal.resume(newSpeculator(), after, INCREMENT, args("{\"key\":\"g\"}"));
        log.advance(Long.MAX_VALUE);
        finished.await(after);
        assertEquals(List.of("gap#1"), coordinator.committedIds, "one increment committed, once");
        assertEquals(3, coordinator.value("g").asInt());
        assertEquals(Speculation.Status.REEXECUTED, after.view().status());
        assertEquals(3, after.view().result().asInt());
    }

    @Test
    void anAttemptIsNotSentUntilItHasBeenRecorded() throws Exception {
        coordinator.put("j", 7);
        journal.failures = 2;
        Speculation s = new Speculation("journal");
        speculator.procedure(s, INCREMENT, args("{\"key\":\"j\"}"), coordinator.snapshot(List.of("j")), false);
        log.advance(Long.MAX_VALUE);
        finished.await(s);
        assertEquals(List.of("journal#0"), coordinator.submittedIds, "sent once, after the third try to record it");
        assertEquals(0, journal.failures);
        assertEquals("journal#0", journal.entries.get("journal").txn().id());
        assertEquals(Speculation.Status.COMMITTED, s.view().status());
    }

    /**
     * A rollback shown before it was recorded could be undone: a restarted mirror resumes every
     * speculation without a recorded outcome, and resends its last attempt to a coordinator that may
     * have forgotten the abort. So the outcome waits for its record.
     */
    @Test
    void anOutcomeIsShownOnlyOnceItIsRecorded() throws Exception {
        TxnSpec stale = staleRead("slow", "r", "r");
        CompletableFuture<Void> slowStore = new CompletableFuture<>();
        journal.outcomeStore = slowStore;
        Speculation s = new Speculation("slow");
        speculator.transaction(s, stale);
        assertEquals(List.of("slow"), coordinator.submittedIds, "answered ABORTED already");

        assertFalse(finished.latch("slow").await(50, TimeUnit.MILLISECONDS), "not finished before its outcome is recorded");
        assertEquals(Speculation.Status.SPECULATIVE, s.view().status());
        assertNull(journal.outcomes.get("slow"));

        slowStore.complete(null);
        finished.await(s);
        assertEquals(Speculation.Status.ROLLED_BACK, s.view().status());
        assertEquals(Speculation.Status.ROLLED_BACK, journal.outcomes.get("slow").status());
        assertEquals("STALE_READ", journal.outcomes.get("slow").reason(), "the outcome recorded is the one shown");
    }

    @Test
    void anOutcomeWhoseRecordFailsIsRecordedAgainBeforeItIsShown() throws Exception {
        coordinator.put("o", 1);
        journal.outcomeFailures = 2;
        Speculation s = new Speculation("retry");
        speculator.procedure(s, INCREMENT, args("{\"key\":\"o\"}"), coordinator.snapshot(List.of("o")), false);
        log.advance(Long.MAX_VALUE);
        finished.await(s);
        assertEquals(0, journal.outcomeFailures, "tried three times");
        assertEquals(Speculation.Status.COMMITTED, s.view().status());
        assertEquals(s.view(), journal.outcomes.get("retry"));
        assertEquals(List.of("retry#0"), coordinator.committedIds);
    }

    @Test
    void whileItsOutcomeCannotBeRecordedASpeculationDoesNotSayWhichItIs() throws Exception {
        TxnSpec stale = staleRead("quiet", "q", "q");
        journal.outcomeFailures = Integer.MAX_VALUE; // the store is down
        Speculation s = new Speculation("quiet");
        speculator.transaction(s, stale);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((s.view().message() == null || !s.view().message().contains("could not be recorded"))
                && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertTrue(s.view().message().contains("could not be recorded"), s.view().toString());
        assertEquals(Speculation.Status.SPECULATIVE, s.view().status());
        assertFalse(s.view().message().contains("ROLLED_BACK"), "the outcome is not given away: " + s.view().message());
        journal.outcomeFailures = 0; // the store is back
        finished.await(s);
        assertEquals(Speculation.Status.ROLLED_BACK, s.view().status());
    }

    @Test
    void aStoppedSpeculatorRetriesNothingMore() throws Exception {
        coordinator.put("z", 1);
        coordinator.unavailable = Integer.MAX_VALUE; // the coordinator answers 503, for good
        Speculation s = new Speculation("stopping");
        speculator.transaction(s, new TxnSpec("stopping", List.of(), List.of(new TxnSpec.Write("z", "2".getBytes())), "m1"));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (coordinator.submittedIds.size() < 3 && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertTrue(coordinator.submittedIds.size() >= 3, "sent again and again while unavailable");
        speculator.stop();
        // A retry already running when stopped may still send once: until 100 ms pass without a send (5 s at most;
        // still running, it sends every 4 ms at most here, and the check below fails).
        int sent = coordinator.submittedIds.size();
        long quietSince = System.nanoTime();
        long giveUp = quietSince + TimeUnit.SECONDS.toNanos(5);
        while (System.nanoTime() - quietSince < TimeUnit.MILLISECONDS.toNanos(100) && System.nanoTime() < giveUp) {
            Thread.sleep(5);
            if (coordinator.submittedIds.size() != sent) {
                sent = coordinator.submittedIds.size();
                quietSince = System.nanoTime();
            }
        }
        Thread.sleep(200); // running, it would send dozens more (retries every 4 ms at most here)
        assertEquals(sent, coordinator.submittedIds.size(), "nothing sent after the stop");
        assertEquals(Speculation.Status.SPECULATIVE, s.view().status(), "undecided: the next start resumes it");
    }

    /**
     * A plain transaction {@code id} that read {@code key} at a version overwritten since (certification
     * answers ABORTED, STALE_READ) and writes {@code 3} to {@code written}.
     */
    private TxnSpec staleRead(String id, String key, String written) {
        coordinator.put(key, 1);
        long stale = coordinator.snapshot(List.of(key)).versions().get(key);
        coordinator.put(key, 2);
        return new TxnSpec(id, List.of(new TxnSpec.Read(key, stale)), List.of(new TxnSpec.Write(written, "3".getBytes())), "m1");
    }

    private static JsonNode args(String json) throws Exception {
        return JSON.readTree(json);
    }
}
