package io.presage.speculate;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.coord.KeyTurns;
import io.presage.coord.TxnSpec;
import io.presage.proc.Attempts;
import io.presage.proc.Procedure;
import io.presage.proc.ProcedureException;

/**
 * Drives speculations to their outcome (see the package comment): submit, and on the answer commit,
 * re-execute or roll back. Each speculation's steps run one after another on whichever thread
 * completed the previous one; nothing here blocks.
 */
public final class Speculator {
    /** Attempts per procedure; the same as the coordinator's runner, so both walk the same ids. */
    public static final int MAX_ATTEMPTS = Attempts.MAX;
    /** Backoff between sends of an attempt whose outcome is unknown: doubling from the first to the most. */
    private static final long FIRST_RETRY_MS = 50;
    private static final long MAX_RETRY_MS = 2_000;
    /** Bound of the random wait before re-executing: doubling per attempt from the first to the most. */
    private static final long FIRST_BACKOFF_MS = 8;
    private static final long MAX_BACKOFF_MS = 1_000;

    /**
     * Re-executions at this mirror take turns per key. Racing, they read the same latest version and all
     * but one lost certification, round after round: with 8 clients speculating transfers between two
     * keys, 872 of 1,011 speculations were rolled back after their last attempt. The turn is taken by a
     * speculation's first re-execution and kept until it is decided. At most this long is spent waiting
     * for the ones ahead while the coordinator answers (see {@link #awaitTurn}): one stuck for another reason
     * must not hold the others for good ({@code presage.mirror.speculation-turn-wait}).
     */
    private static final Duration DEFAULT_TURN_WAIT = Duration.ofSeconds(10);
    private final KeyTurns turns = new KeyTurns();
    private final Map<String, KeyTurns.Turn> turnOf = new ConcurrentHashMap<>();
    /** Whether the coordinator has been away lately (see {@link #awaitTurn}). */
    private final CoordinatorWatch watch = new CoordinatorWatch();
    private volatile boolean stopped;

    /** The coordinator, as speculations need it. Futures may fail; a failure counts as unavailable. */
    public interface Coordinator {
        /** Certify and commit {@code txn} (its id is always set). */
        CompletableFuture<CoordinatorAnswer> commit(TxnSpec txn);

        /** The keys' latest committed values and versions, at one position. */
        CompletableFuture<Snapshot> latest(List<String> keys);

        /** Whether a transaction committed under {@code id} or, for a procedure call, {@code "<id>#n"}; null if not. */
        CompletableFuture<CoordinatorAnswer.Committed> committed(String id);
    }

    /**
     * Where a mirror keeps, durably, what a restart must not forget of each speculation.
     * <ul>
     * <li>Its last attempt, for a procedure: attempt {@code n} is sent as {@code txn} only once
     *     {@link #attempting} has completed, and a restarted mirror resumes by sending it again (see
     *     {@link #resume}).</li>
     * <li>Its outcome: shown to clients only once {@link #decided} has completed. A restarted mirror
     *     resumes every speculation without a recorded outcome, and a coordinator restarted meanwhile
     *     has forgotten the aborts it answered (it keeps committed ids only), so the resent attempt may
     *     now commit: an outcome shown before it was recorded could be ROLLED_BACK to one client and
     *     COMMITTED to the next.</li>
     * </ul>
     * A failed future means not recorded: tried again later.
     */
    public interface Journal {
        CompletableFuture<?> attempting(String speculationId, int n, TxnSpec txn, JsonNode result);

        /** Records {@code outcome}; {@code recordedMillis} is when, from which its retention runs. */
        CompletableFuture<?> decided(Speculation.View outcome, long recordedMillis);
    }

    /** Whether this mirror has applied a commit's log message. */
    @FunctionalInterface
    public interface Applied {
        /**
         * Completes once this mirror has applied message {@code sequence} of log stream {@code stream} (0: not
         * named); fails if it passed over it without applying it, or applies from another stream.
         */
        CompletableFuture<?> applied(long sequence, long stream);
    }

    /** Values (null: absent or deleted) and versions (0: absent) of some keys at one log position. */
    public record Snapshot(Map<String, JsonNode> values, Map<String, Long> versions) {
    }

    private final Coordinator coordinator;
    private final Journal journal;
    private final Applied applied;
    private final ObjectMapper json;
    private final String origin;
    private final Consumer<Speculation> finished;
    private final long firstRetryMs;
    private final long maxRetryMs;
    private final long firstBackoffMs;
    private final long maxBackoffMs;
    private final long turnWaitMs;

    /**
     * @param applied completes once this mirror has applied the given log message; fails if it passed over
     *        it without applying it, or applies from another log stream (tried again later)
     * @param finished told once when a speculation has finished: its outcome recorded in the journal, and shown
     * @param turnWait how long a re-execution waits for the ones ahead of it while the coordinator answers
     */
    public Speculator(Coordinator coordinator, Journal journal, Applied applied,
            ObjectMapper json, String origin, Consumer<Speculation> finished, Duration turnWait) {
        this(coordinator, journal, applied, json, origin, finished, FIRST_RETRY_MS, MAX_RETRY_MS, FIRST_BACKOFF_MS,
                MAX_BACKOFF_MS, turnWait);
    }

    Speculator(Coordinator coordinator, Journal journal, Applied applied, ObjectMapper json,
            String origin, Consumer<Speculation> finished, long firstRetryMs, long maxRetryMs, long firstBackoffMs,
            long maxBackoffMs) {
        this(coordinator, journal, applied, json, origin, finished, firstRetryMs, maxRetryMs, firstBackoffMs,
                maxBackoffMs, DEFAULT_TURN_WAIT);
    }

    private Speculator(Coordinator coordinator, Journal journal, Applied applied, ObjectMapper json,
            String origin, Consumer<Speculation> finished, long firstRetryMs, long maxRetryMs, long firstBackoffMs,
            long maxBackoffMs, Duration turnWait) {
        this.coordinator = coordinator;
        this.journal = journal;
        this.applied = applied;
        this.json = json;
        this.origin = origin;
        this.finished = finished;
        this.firstRetryMs = firstRetryMs;
        this.maxRetryMs = maxRetryMs;
        this.firstBackoffMs = firstBackoffMs;
        this.maxBackoffMs = maxBackoffMs;
        this.turnWaitMs = turnWait.toMillis();
    }

    /**
     * Plans procedure {@code p} on {@code local} data (synchronously, so that the 202 can carry the
     * result) and starts submitting it. A refusal on local data is not final: it may be the local data
     * that is behind, so the procedure is re-executed on the coordinator's latest data. {@code clientsId}:
     * the id came with the call (a retry may follow a call that committed), rather than made up for it.
     */
    public void procedure(Speculation s, Procedure p, JsonNode args, Snapshot local, boolean clientsId) {
        start(s, p, args, local, plan(s, p, args, local), clientsId);
    }

    /**
     * The first half of {@link #procedure}: plans {@code p} on {@code local} data for the 202 (its result
     * is then the speculation's {@code speculativeResult}, to be recorded with it); null when the procedure
     * refuses there.
     */
    public Procedure.Plan plan(Speculation s, Procedure p, JsonNode args, Snapshot local) {
        try {
            Procedure.Plan plan = p.plan(args, local.values());
            s.speculated(plan.result());
            return plan;
        } catch (ProcedureException e) {
            s.waiting("refused on this mirror's data (" + e.reason() + "); running it on the coordinator's latest data");
            return null;
        }
    }

    /**
     * The second half of {@link #procedure}: starts submitting {@code plan} (from {@link #plan}) or, when
     * the procedure refused on local data (null), runs it on the coordinator's latest data. Either way its
     * first attempt is attempt 0: the coordinator's runner and other nodes walk a call's attempt ids from
     * {@code #0}, and one skipped here (a re-execution sent as {@code #1}) let another run of the same call
     * commit {@code #0} beside it.
     */
    public void start(Speculation s, Procedure p, JsonNode args, Snapshot local, Procedure.Plan plan, boolean clientsId) {
        List<String> keys = p.keys(args);
        if (plan == null) {
            unlessCommittedBefore(s, clientsId, () -> reexecute(s, p, args, keys, 0));
            return;
        }
        unlessCommittedBefore(s, clientsId, () -> submitPlan(s, p, args, keys, local, plan, 0));
    }

    /**
     * Runs {@code first} (the call's first attempt) unless an earlier call under the same id committed:
     * a retry of a call the coordinator ran, or one another mirror speculated. Its attempts are ids
     * {@code "<id>#n"}, and a coordinator that restarted or failed over since has forgotten the aborts
     * it answered (it keeps committed ids only): attempt 0 sent again could then commit beside the
     * attempt that did, and the call would take effect twice. Asked once, before anything is sent; that
     * call's result is then this one's, as far as the coordinator knows it.
     */
    private void unlessCommittedBefore(Speculation s, boolean clientsId, Runnable first) {
        if (!clientsId) {
            first.run(); // an id made up for this call is new
            return;
        }
        committedBefore(s, firstRetryMs, earlier -> {
            if (earlier == null) {
                first.run();
                return;
            }
            confirmEarlierCall(s, earlier);
        });
    }

    /**
     * Nothing was sent from here: an earlier call under the id committed, with its result as far as the
     * coordinator knows it. Re-executed unless that result is the one this speculation answered (after a
     * restart it answered none that is remembered).
     */
    private void confirmEarlierCall(Speculation s, CoordinatorAnswer.Committed earlier) {
        s.committedBefore(earlier.result());
        confirmOtherRun(s, earlier);
    }

    /** Confirms a commit of the call made by another run of it: COMMITTED only with the result the 202 answered. */
    private void confirmOtherRun(Speculation s, CoordinatorAnswer.Committed other) {
        JsonNode speculated = s.view().speculativeResult();
        confirm(s, other, other.result() == null || speculated == null || !speculated.equals(SAME_NUMBER, other.result()));
    }

    /**
     * Numbers by value: a result parsed back from the coordinator's JSON holds 6 as an int, the
     * procedure's own plan as a big integer (or 1.50 against 1.5), and JsonNode.equals tells them apart.
     */
    private static final java.util.Comparator<JsonNode> SAME_NUMBER = (a, b) -> {
        if (a.isNumber() && b.isNumber()) {
            return a.decimalValue().compareTo(b.decimalValue());
        }
        return a.equals(b) ? 0 : 1;
    };

    /**
     * Carries on with a procedure speculation that a restart interrupted (it was recorded, but what
     * became of its attempts only in part). If one of its attempts committed, that is the outcome.
     * Otherwise, if an attempt was recorded in the {@link Journal} ({@code sent}, attempt number
     * {@code attempt}, with {@code result}), exactly that transaction is sent again under its id: the
     * coordinator answers with its outcome, waiting for it if it is still running, and an abort carries
     * on with the next attempt. Planning anew instead, or walking again from attempt 0, could commit a
     * second attempt beside one still in flight: the attempts before it were answered ABORTED, and a
     * coordinator restarted meanwhile has forgotten that. With no attempt recorded none was sent, and
     * attempt 0 is planned on the coordinator's latest data.
     */
    public void resume(Speculation s, Procedure p, JsonNode args, int attempt, TxnSpec sent, JsonNode result) {
        resume(s, p, args, attempt, sent, result, null);
    }

    /**
     * {@link #resume}, knowing the result the 202 answered ({@code speculated}, recorded with the
     * speculation; null when the procedure refused on local data, or not known): a commit with another
     * result, or when it is not known, is reported REEXECUTED, never COMMITTED.
     */
    public void resume(Speculation s, Procedure p, JsonNode args, int attempt, TxnSpec sent, JsonNode result,
            JsonNode speculated) {
        List<String> keys = p.keys(args);
        if (speculated != null) {
            s.speculated(speculated);
        }
        s.waiting("resumed after this mirror restarted");
        committedBefore(s, firstRetryMs, done -> {
            if (done != null) {
                if (sent != null) {
                    s.submitting(attempt, result); // only recorded attempts are sent: the one that committed
                    confirmAttempt(s, done, attempt);
                } else {
                    confirmEarlierCall(s, done);
                }
            } else if (sent != null) {
                s.submitting(attempt, result);
                send(s, p, args, keys, attempt, sent);
            } else {
                latest(s, keys, firstRetryMs, data -> replan(s, p, args, keys, data, 0));
            }
        });
    }

    private void committedBefore(Speculation s, long backoffMs, Consumer<CoordinatorAnswer.Committed> then) {
        call(() -> coordinator.committed(s.id()), c -> true).whenComplete((c, e) -> {
            if (e != null) {
                s.waiting("could not ask the coordinator what became of it (" + describe(e) + "); asking again");
                later(backoffMs, () -> committedBefore(s, next(backoffMs), then));
            } else {
                then.accept(c);
            }
        });
    }

    /**
     * Starts submitting a plain transaction (its id set); an abort is final, it cannot be re-run. Also how
     * one interrupted by a restart carries on: the coordinator answers its id again with the first outcome.
     */
    public void transaction(Speculation s, TxnSpec txn) {
        s.submitting(0, null);
        submit(s, txn, firstRetryMs, answer -> {
            if (answer instanceof CoordinatorAnswer.Committed c) {
                confirm(s, c, false);
            } else {
                rollBack(s, answer, true);
            }
        });
    }

    private void reexecute(Speculation s, Procedure p, JsonNode args, List<String> keys, int n) {
        if (n >= MAX_ATTEMPTS) {
            finish(s, s.rolledBack("TOO_MANY_CONFLICTS", List.of(), "aborted " + MAX_ATTEMPTS + " times; nothing committed"));
            return;
        }
        if (!turnOf.containsKey(s.id())) {
            // The first re-execution waits for this mirror's earlier ones on the same keys to be decided,
            // so that the coordinator's latest data already holds what they wrote.
            KeyTurns.Turn turn = turns.enter(keys);
            turnOf.put(s.id(), turn);
            CompletableFuture<Void> ready = turn.ready();
            if (!ready.isDone()) {
                s.waiting("waiting for this mirror's earlier re-executions on the same keys");
            }
            awaitTurn(turn, ready, () -> latest(s, keys, firstRetryMs, data -> replan(s, p, args, keys, data, n)));
            return;
        }
        // Losers of one conflict would otherwise all read the same new version and collide again, one
        // winner per round; a random wait, its bound doubling per attempt, spreads them out.
        long bound = Math.min(maxBackoffMs, firstBackoffMs << (n - 1));
        later(ThreadLocalRandom.current().nextLong(bound + 1),
                () -> latest(s, keys, firstRetryMs, data -> replan(s, p, args, keys, data, n)));
    }

    /**
     * Runs {@code go} once the re-executions ahead of {@code turn} are decided ({@code ready}), or once they
     * have been waited for {@code turnWait} while the coordinator answered: only then are they taken as
     * stuck and overtaken. A coordinator that is away holds the ones ahead as much as this one, and the wall
     * clock alone took a pause of more than the wait for a stuck queue: every re-execution queued went ahead
     * at once when the coordinator came back, they all read the same version, and round after round all but
     * one lost, until many were rolled back after their last attempt (TOO_MANY_CONFLICTS) although each could
     * have committed in its turn.
     */
    private void awaitTurn(KeyTurns.Turn turn, CompletableFuture<Void> ready, Runnable go) {
        if (ready.isDone()) {
            go.run();
            return;
        }
        ready.orTimeout(turnWaitMs, TimeUnit.MILLISECONDS).whenComplete((x, e) -> {
            if (e == null) {
                go.run();
            } else if (stopped) {
                return; // the node is stopping: resumed from the store by the next start
            } else if (watch.awayWithin(turnWaitMs, System.nanoTime())) {
                awaitTurn(turn, turn.ready(), go); // the coordinator was away meanwhile: the ones ahead are not stuck
            } else {
                turn.stopWaiting();
                go.run();
            }
        });
    }

    /**
     * One call of a speculation to the coordinator, watched ({@link CoordinatorWatch}): it completes once the
     * watch has counted it, answered if {@code answer} says so of its value, unanswered if it failed.
     */
    private <T> CompletableFuture<T> call(Supplier<CompletableFuture<T>> send, Predicate<T> answer) {
        watch.sent();
        CompletableFuture<T> f;
        try {
            f = send.get();
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        return f.whenComplete((v, e) -> {
            if (e == null && answer.test(v)) {
                watch.answered();
            } else {
                watch.unanswered();
            }
        });
    }

    /** Attempt {@code n} on newer data: plan again, and submit unless the procedure now refuses. */
    private void replan(Speculation s, Procedure p, JsonNode args, List<String> keys, Snapshot data, int n) {
        Procedure.Plan plan;
        try {
            plan = p.plan(args, data.values());
        } catch (ProcedureException e) {
            refused(s, e.reason(), e.getMessage());
            return;
        } catch (RuntimeException e) {
            refused(s, "PROCEDURE_FAILED", "the procedure failed: " + e);
            return;
        }
        submitPlan(s, p, args, keys, data, plan, n);
    }

    /**
     * The call refused on the latest data: rolled back, unless it committed under its id meanwhile from
     * another run (the client's retry at the coordinator, whose runner took this mirror's aborted attempt for
     * aborted and committed the next; another mirror; a plain transaction under the id). Its own commit is
     * then often why it refuses now (the money already moved), and the coordinator answers the id with that
     * commit: reported ROLLED_BACK, "nothing committed", a client sent the call again under a new id and it
     * took effect twice. Asked only on a refusal, not on the way to a commit.
     */
    private void refused(Speculation s, String reason, String message) {
        rolledBackUnlessCommitted(s, reason, message, false);
    }

    /**
     * A speculation interrupted by a restart that cannot be carried on (its record no longer reads as a
     * request this node can send): decided as a refusal is, rolled back ({@code UNRESUMABLE}) unless the
     * coordinator holds a commit under its id, from before the restart or another run.
     */
    public void unresumable(Speculation s, String message, boolean plain) {
        rolledBackUnlessCommitted(s, "UNRESUMABLE", message, plain);
    }

    /**
     * Rolled back ({@code reason}) unless the coordinator holds a commit under the speculation's id: then
     * that commit is reported, a plain transaction's as COMMITTED (its writes are the client's own), a call's
     * as another run of it.
     */
    private void rolledBackUnlessCommitted(Speculation s, String reason, String message, boolean plain) {
        committedBefore(s, firstRetryMs, other -> {
            if (other == null) {
                finish(s, s.rolledBack(reason, List.of(), message));
            } else if (plain) {
                confirm(s, other, false);
            } else {
                s.committedResult(other.result());
                confirmOtherRun(s, other);
            }
        });
    }

    private void submitPlan(Speculation s, Procedure p, JsonNode args, List<String> keys, Snapshot data,
            Procedure.Plan plan, int n) {
        List<TxnSpec.Read> reads = new ArrayList<>(keys.size());
        for (String k : keys) {
            reads.add(new TxnSpec.Read(k, data.versions().getOrDefault(k, 0L)));
        }
        List<TxnSpec.Write> writes = new ArrayList<>(plan.writes().size());
        for (Map.Entry<String, JsonNode> w : plan.writes().entrySet()) {
            writes.add(new TxnSpec.Write(w.getKey(), bytes(w.getValue())));
        }
        s.submitting(n, plan.result());
        TxnSpec txn = new TxnSpec(Attempts.id(s.id(), n), reads, writes, origin,
                plan.result() == null ? null : plan.result().toString());
        recorded(s, n, txn, plan.result(), firstRetryMs, () -> send(s, p, args, keys, n, txn));
    }

    /** Sends attempt {@code n} until its answer is definite, and acts on it. */
    private void send(Speculation s, Procedure p, JsonNode args, List<String> keys, int n, TxnSpec txn) {
        submit(s, txn, firstRetryMs, answer -> {
            if (answer instanceof CoordinatorAnswer.Committed c) {
                confirmAttempt(s, c, n);
            } else if (answer instanceof CoordinatorAnswer.Aborted) {
                // submitted as a plain transaction, so a 409 is certification's: run it on newer data
                reexecute(s, p, args, keys, n + 1);
            } else {
                rollBack(s, answer, false);
            }
        });
    }

    /** Runs {@code then} once attempt {@code n} is in the attempt log, never before. */
    private void recorded(Speculation s, int n, TxnSpec txn, JsonNode result, long backoffMs, Runnable then) {
        CompletableFuture<?> f;
        try {
            f = journal.attempting(s.id(), n, txn, result);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((x, e) -> {
            if (e != null) {
                s.waiting("attempt " + n + " could not be recorded (" + describe(e) + "); trying again before sending it");
                later(backoffMs, () -> recorded(s, n, txn, result, next(backoffMs), then));
            } else {
                then.run();
            }
        });
    }

    /** Sends {@code txn} until the answer is definite; the same id each time, so at most one commits. */
    private void submit(Speculation s, TxnSpec txn, long backoffMs, Consumer<CoordinatorAnswer> then) {
        call(() -> coordinator.commit(txn), a -> !(a instanceof CoordinatorAnswer.Unavailable)).whenComplete((a, e) -> {
            CoordinatorAnswer answer = e != null ? new CoordinatorAnswer.Unavailable(describe(e)) : a;
            if (answer instanceof CoordinatorAnswer.Unavailable u) {
                s.waiting("the coordinator did not answer (" + u.message() + "); sending attempt " + txn.id() + " again");
                later(backoffMs, () -> submit(s, txn, next(backoffMs), then));
            } else {
                then.accept(answer);
            }
        });
    }

    private void latest(Speculation s, List<String> keys, long backoffMs, Consumer<Snapshot> then) {
        call(() -> coordinator.latest(keys), data -> true).whenComplete((data, e) -> {
            if (e != null) {
                s.waiting("the coordinator's latest data could not be read (" + describe(e) + "); asking again");
                later(backoffMs, () -> latest(s, keys, next(backoffMs), then));
            } else {
                then.accept(data);
            }
        });
    }

    /**
     * Attempt {@code n} of a procedure call is committed under its id, but not necessarily as this mirror
     * planned it: the same call (the client's id) speculated at another mirror, or sent to the
     * coordinator, may have committed that attempt id first, and the coordinator answers a repeated id
     * with the first outcome and the result it keeps with it. A result other than the plan's is that
     * other call's commit: this speculation reports it, re-executed, not its own plan as committed.
     */
    private void confirmAttempt(Speculation s, CoordinatorAnswer.Committed c, int n) {
        if (c.result() == null) {
            // A 200 without the result kept with the id (the coordinator's store could not tell it in time)
            // does not say this attempt's plan is what committed: the call may have committed under this id
            // from another caller's run (the coordinator's own, another mirror's) with another result. Ask
            // for it; still not known, the commit is reported REEXECUTED without a result, never as planned.
            committedBefore(s, firstRetryMs, known -> {
                if (known != null && known.result() != null) {
                    confirmAttempt(s, new CoordinatorAnswer.Committed(c.timestamp(), c.adjusted(), c.sequence(), c.stream(),
                            known.result()), n);
                } else {
                    s.committedResult(null);
                    confirm(s, c, true);
                }
            });
            return;
        }
        JsonNode planned = s.view().result();
        if (c.result() != null && (planned == null || !planned.equals(SAME_NUMBER, c.result()))) {
            s.committedResult(c.result());
            confirm(s, c, true);
            return;
        }
        // COMMITTED means committed as speculated: the 202's result. Attempt 0 is the plan on local data
        // only when there was one (not after a refusal there, nor when a restart lost what the 202 said).
        JsonNode speculated = s.view().speculativeResult();
        confirm(s, c, n > 0 || speculated == null || planned == null || !speculated.equals(SAME_NUMBER, planned));
    }

    private void confirm(Speculation s, CoordinatorAnswer.Committed c, boolean reexecuted) {
        releaseTurn(s); // decided: the coordinator's latest data holds it, so the next re-execution may read
        s.logged(c.timestamp(), c.adjusted(), c.sequence(), c.stream());
        appliedHere(s, c.sequence(), c.stream(), firstRetryMs, () -> finish(s, s.committed(reexecuted)));
    }

    /**
     * Runs {@code then} once this mirror has applied log message {@code sequence} of stream {@code stream}.
     * A failure says it was passed over, not applied (parked as undecodable, say, or committed in another
     * log stream than this mirror's): the commit stands, so the speculation stays SPECULATIVE, its token
     * shown and the message saying why, and is asked about again. It used to be reported COMMITTED all the
     * same, while a read at this mirror right after did not show its write.
     */
    private void appliedHere(Speculation s, long sequence, long stream, long backoffMs, Runnable then) {
        CompletableFuture<?> f;
        try {
            f = applied.applied(sequence, stream);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((x, e) -> {
            if (e == null) {
                then.run();
                return;
            }
            s.waiting("committed at log sequence " + sequence + ", but " + describe(e) + "; it is confirmed once this "
                    + "mirror has it (a read with its token is answered by the coordinator meanwhile)");
            later(backoffMs, () -> appliedHere(s, sequence, stream, next(backoffMs), then));
        });
    }

    /**
     * An abort is the coordinator's answer to the id, and final. A refusal (4xx) is not about the id: a resend
     * after a first send whose answer was lost can be refused (a proxy's page, a coordinator failed over to with
     * lower limits) though that first send committed, so the coordinator is asked first, as for a procedure
     * that refuses; it was reported ROLLED_BACK at once. {@code plain}: a plain transaction's, whose commit is
     * its own writes (COMMITTED), not another run of a call.
     */
    private void rollBack(Speculation s, CoordinatorAnswer answer, boolean plain) {
        if (answer instanceof CoordinatorAnswer.Aborted a) {
            finish(s, s.rolledBack(a.reason(), a.conflicts(), a.message()));
            return;
        }
        CoordinatorAnswer.Refused r = (CoordinatorAnswer.Refused) answer;
        rolledBackUnlessCommitted(s, r.error(), "the coordinator refused it with " + r.status() + ": " + r.message(), plain);
    }

    /** Records {@code outcome} in the journal (until it takes), then shows it: never the other way round. */
    private void finish(Speculation s, Speculation.View outcome) {
        releaseTurn(s); // decided: the turn is not held while the store is slow
        decided(s, outcome, firstRetryMs);
    }

    /**
     * One try at recording {@code outcome}. It is recorded, and kept for the retention, from the time the
     * record takes: after a long store outage, a decision's own time would have it forgotten soon after
     * it was first shown. While it is not recorded the message does not say which outcome it is.
     */
    private void decided(Speculation s, Speculation.View outcome, long backoffMs) {
        long nowMillis = System.currentTimeMillis();
        CompletableFuture<?> f;
        try {
            f = journal.decided(outcome, nowMillis);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        f.whenComplete((x, e) -> {
            if (e != null) {
                s.waiting("decided, but the outcome could not be recorded (" + describe(e) + "); trying again before answering it");
                later(backoffMs, () -> decided(s, outcome, next(backoffMs)));
            } else {
                s.finish(outcome, nowMillis);
                finished.accept(s);
            }
        });
    }

    private void releaseTurn(Speculation s) {
        KeyTurns.Turn t = turnOf.remove(s.id());
        if (t != null) {
            t.finish();
        }
    }

    /**
     * Stops every retry and wait still scheduled: the node is stopping, its store and coordinator client
     * are closing, and what is undecided is resumed from the store by the next start.
     */
    public void stop() {
        stopped = true;
    }

    private void later(long delayMs, Runnable r) {
        Executor e = CompletableFuture.delayedExecutor(delayMs, TimeUnit.MILLISECONDS);
        e.execute(() -> {
            if (!stopped) {
                r.run();
            }
        });
    }

    private long next(long backoffMs) {
        return Math.min(backoffMs * 2, maxRetryMs);
    }

    private static String describe(Throwable e) {
        Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
        return c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
    }

    private byte[] bytes(JsonNode v) {
        try {
            return json.writeValueAsBytes(v);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
