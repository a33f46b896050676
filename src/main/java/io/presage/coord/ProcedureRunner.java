package io.presage.coord;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.apply.Eviction;
import io.presage.proc.Attempts;
import io.presage.proc.Procedure;
import io.presage.proc.ProcedureException;
import io.smallrye.mutiny.Uni;

/**
 * Runs a procedure at the coordinator as one transaction: read its keys at one position, plan,
 * certify with the versions read; on a conflict, re-run on the newer data (bounded). With a client
 * id, attempt {@code n} commits under id {@code "<id>#n"}, so a retried call walks the same ids and
 * finds the attempt that committed instead of committing again.
 *
 * <p>Only committed attempts are remembered durably (in the log and the store's {@code txn_ids}); the
 * aborted ones only in memory. So a retried call first asks whether any of its attempt ids committed
 * and, if one did, answers with that outcome; otherwise, after a restart, the walk would re-run
 * attempt 0 on today's data and commit the call a second time. An attempt under an id commits its
 * result with it (in the log, then the store's {@code txn_ids}), so such an answer carries the
 * procedure's {@code result} too, after a restart or a failover as well.
 *
 * <p>Calls on the same key take turns ({@link KeyTurns}), so they do not lose certification to each
 * other. A call can still lose to a transaction or a write that is not a procedure; then it waits
 * until reads see past the position it read at before it tries again, because until the winner's
 * log message is acknowledged a new attempt would read the same version and lose again.
 */
public final class ProcedureRunner {

    /** The final outcome and, when committed, the procedure's result. */
    public record Ran(CommitOutcome outcome, JsonNode result) {
    }

    /**
     * How long an attempt that lost waits for the winner to become readable. Acknowledgements take
     * milliseconds; the bound matters only when the winner's log message failed, and then the conflict
     * is gone anyway.
     */
    static final Duration RETRY_WAIT = Duration.ofMillis(250);

    private final CoordinatorEngine engine;
    private final ObjectMapper json;
    private final String origin;
    private final KeyTurns turns = new KeyTurns();
    private final Duration turnWait;
    /**
     * Refusals of calls made under an id (insufficient funds, not a number), by id: the same id again
     * is refused again rather than run on newer data, as the first outcome of a call under an id is
     * its answer. In memory only and bounded, as aborts are: after a restart, or past
     * {@link #MAX_REFUSALS}, a retry runs afresh (and still commits at most once).
     */
    private final ConcurrentHashMap<String, Refusal> refusals = new ConcurrentHashMap<>();

    private record Refusal(ProcedureException exception, long atNanos) {
    }

    static final int MAX_REFUSALS = 100_000;

    /**
     * @param turnWait longest wait for the calls ahead on the same keys (the commit timeout): one
     *        whose log stalls must not hold every call behind it for a timeout each
     */
    public ProcedureRunner(CoordinatorEngine engine, ObjectMapper json, String origin, Duration turnWait) {
        this.engine = engine;
        this.json = json;
        this.origin = origin;
        this.turnWait = turnWait;
    }

    /** {@code keys}: the procedure's keys for {@code args}, checked already ({@link io.presage.api.ProcedureCall}). */
    public Uni<Ran> run(Procedure p, JsonNode args, List<String> keys, String id) {
        Submitted submitted = new Submitted();
        // Deferred: the turn is taken when the call is subscribed to, so every turn taken is finished
        // by onTermination, whether the call answers, fails (even while being assembled) or is cancelled.
        return Uni.createFrom().deferred(() -> {
            KeyTurns.Turn turn = turns.enter(keys);
            return myTurn(turn).flatMap(v -> runInTurn(p, args, keys, id, submitted)).onTermination().invoke(turn::finish);
        }).ifNoItem().after(turnWait).recoverWithItem(() -> new Ran(notAnsweredInTime(submitted, id), null));
    }

    /**
     * Whether a call has handed an attempt to the engine: past that, a call cut short by its deadline may
     * still commit. Its steps are each bounded by the commit timeout (the turn, the id's lookup, each attempt,
     * the look after a refusal), and they used to add up: a call behind another whose lookup the store did not
     * answer waited a timeout for its turn and another for its own lookup, where a transaction under an id
     * answers within one (CoordinatorEngine.withinCommitTimeout) and a mirror forwarding the call had given up.
     */
    private static final class Submitted {
        volatile boolean any;
    }

    private static CommitOutcome notAnsweredInTime(Submitted submitted, String id) {
        if (!submitted.any) {
            return new CommitOutcome.Unavailable("the call did not get to run within the commit timeout (calls ahead of it on "
                    + "the same keys, or the lookup of its id, were slow); nothing was committed: retry");
        }
        return new CommitOutcome.Unknown("the call was not answered within the commit timeout: it may still commit; "
                + (id == null ? "read before calling again" : "retry under the same id"));
    }

    /** Usually nobody is ahead: then no stage and no timer. */
    private Uni<Void> myTurn(KeyTurns.Turn turn) {
        CompletableFuture<Void> ready = turn.readyWithin(turnWait.toMillis());
        return ready.isDone() ? Uni.createFrom().voidItem() : Uni.createFrom().completionStage(ready);
    }

    private Uni<Ran> runInTurn(Procedure p, JsonNode args, List<String> keys, String id, Submitted submitted) {
        if (id == null) {
            return attempt(p, args, keys, null, 0, null, submitted);
        }
        IdLookupStamp lookedUpAt = engine.idLookupStamp();
        // Its attempts' ids and the id itself, as GET /v1/transactions/{id} and a mirror's speculation of
        // the call ask: a transaction committed under any of them is this call's first outcome.
        return engine.committedAny(Attempts.committedIds(id)).flatMap(known -> {
            if (known != null) {
                return Uni.createFrom().item(ranAs(known)); // committed before, or unavailable
            }
            Refusal before = refusals.get(id);
            if (before != null) {
                return Uni.createFrom().failure(before.exception());
            }
            return attempt(p, args, keys, id, 0, lookedUpAt, submitted)
                    .onFailure(ProcedureException.class).recoverWithUni(e -> refusedUnlessCommitted(id, (ProcedureException) e));
        });
    }

    /**
     * A plan that refuses (insufficient funds, say) may have read the writes of this very call, committed
     * under another of its ids (a mirror's speculation sends {@code id#0}, a plain transaction {@code id})
     * while it was in flight when the look above found nothing, and acknowledged before the read: the
     * plan then refuses because the call already ran. That commit is the call's outcome; answered with the
     * refusal instead, the client would send the call again under a new id and pay twice. So a refusal is
     * answered and remembered only once a second look finds no commit under the call's ids.
     */
    private Uni<Ran> refusedUnlessCommitted(String id, ProcedureException refusal) {
        if (refusal.badInput()) {
            return Uni.createFrom().failure(refusal);
        }
        // Runs of the call still in flight are waited for: one may be what this plan read, or may commit next.
        return engine.committedAnyOnceDecided(Attempts.committedIds(id)).flatMap(known -> {
            if (known != null) {
                return Uni.createFrom().item(ranAs(known)); // committed after all, unavailable, or still deciding
            }
            refused(id, refusal);
            return Uni.createFrom().failure(refusal);
        });
    }

    /** The call's answer when a look under its ids found {@code known}: that outcome, with its result. */
    private Ran ranAs(CoordinatorEngine.Known known) {
        return new Ran(known.outcome(), known.result() == null ? null : parse(known.result().getBytes(StandardCharsets.UTF_8)));
    }

    private void refused(String id, ProcedureException e) {
        if (e.badInput()) {
            return; // a request refused as malformed (400) has no outcome to keep: fixed, it may run
        }
        if (refusals.size() >= MAX_REFUSALS) {
            Eviction.lowest(refusals, MAX_REFUSALS, Refusal::atNanos); // the oldest go
        }
        refusals.put(id, new Refusal(e, System.nanoTime()));
    }

    private Uni<Ran> attempt(Procedure p, JsonNode args, List<String> keys, String id, int n, IdLookupStamp lookedUpAt,
            Submitted submitted) {
        return engine.readAll(keys).flatMap(reads -> {
            long readAt = reads.isEmpty() ? engine.readPosition() : reads.get(0).position();
            Map<String, JsonNode> values = new HashMap<>();
            List<TxnSpec.Read> readSet = new ArrayList<>();
            for (int i = 0; i < keys.size(); i++) {
                CoordinatorEngine.Read r = reads.get(i);
                String k = keys.get(i);
                readSet.add(new TxnSpec.Read(k, r.item() == null ? 0 : r.item().version()));
                values.put(k, r.item() == null || r.item().deleted() ? null : parse(r.item().valueJson()));
            }
            Procedure.Plan plan = p.plan(args, values);
            List<TxnSpec.Write> writes = new ArrayList<>();
            for (Map.Entry<String, JsonNode> w : plan.writes().entrySet()) {
                writes.add(new TxnSpec.Write(w.getKey(), bytes(w.getValue())));
            }
            String attemptId = id == null ? null : Attempts.id(id, n);
            // An attempt id answered before (a retried call, or a mirror's speculation of this call) gets its
            // remembered outcome again: if that was an abort, there is no newer write to wait for.
            boolean answeredBefore = attemptId != null && engine.knowsId(attemptId);
            // Under an id the result goes into the log with the commit, for a retry of the call.
            String result = attemptId == null || plan.result() == null ? null
                    : new String(bytes(plan.result()), StandardCharsets.UTF_8);
            // Under an id, runInTurn has just asked about every attempt id: none committed, so no second lookup.
            TxnSpec spec = new TxnSpec(attemptId, readSet, writes, origin, result);
            submitted.any = true;
            return (attemptId == null ? engine.commit(spec) : engine.commitUnseen(spec, lookedUpAt)).flatMap(o -> {
                if (o instanceof CommitOutcome.Aborted && n + 1 < Attempts.MAX) {
                    Uni<Void> pause = answeredBefore ? Uni.createFrom().voidItem() : engine.awaitReadsPast(readAt, RETRY_WAIT);
                    return pause.flatMap(v -> attempt(p, args, keys, id, n + 1, lookedUpAt, submitted));
                }
                if (attemptId != null && o instanceof CommitOutcome.Committed) {
                    // The call may have been committed by another run of it that this one raced (a retry,
                    // a mirror's speculation), or a plain transaction under its id first: then the answer
                    // is that commit's, result included, not this plan's.
                    return engine.committedAny(Attempts.committedIds(id)).map(k -> new Ran(o, resultOf(k, result, plan)));
                }
                return Uni.createFrom().item(new Ran(o, o instanceof CommitOutcome.Committed ? plan.result() : null));
            });
        });
    }

    /**
     * The result to answer for a call that committed, given {@code first}, the first commit under its id
     * (null, or not a commit, when that could not be told: then this run's own). Our own commit holds our
     * own text, which needs no parsing back; a commit without a result, where this plan has one, is a
     * plain transaction's under the call's id.
     */
    private JsonNode resultOf(CoordinatorEngine.Known first, String ownText, Procedure.Plan plan) {
        if (first == null || !(first.outcome() instanceof CommitOutcome.Committed)) {
            return plan.result();
        }
        if (first.result() == null) {
            return null;
        }
        return first.result().equals(ownText) ? plan.result() : parse(first.result().getBytes(StandardCharsets.UTF_8));
    }

    private JsonNode parse(byte[] b) {
        try {
            return json.readTree(b);
        } catch (IOException e) {
            throw ProcedureException.refuse("UNREADABLE_VALUE", "a stored value is not JSON");
        }
    }

    private byte[] bytes(JsonNode v) {
        try {
            return json.writeValueAsBytes(v);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
