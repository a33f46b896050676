package io.presage.mirror;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.presage.api.ApiException;
import io.presage.api.RequestParser;
import io.presage.coord.Tokens;
import io.presage.coord.TxnSpec;
import io.presage.proc.Procedure;
import io.presage.proc.Procedures;
import io.presage.speculate.Resumptions;
import io.presage.speculate.Speculation;
import io.presage.speculate.SpeculationTable;
import io.presage.speculate.Speculator;
import io.smallrye.mutiny.Uni;

/**
 * The mirror's speculative transactions (package {@link io.presage.speculate}): the table of known
 * speculations, the driver wired to this mirror's coordinator client and applied position, ids for
 * calls that bring none, and the metrics {@code presage_speculations_total{outcome}} and
 * {@code presage_speculations_pending} and {@code presage_speculations_pending_bytes}.
 */
final class MirrorSpeculations {
    private static final int MAX_FINISHED_KEPT = 100_000;
    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {
    };
    private static final SecureRandom IDS = new SecureRandom();

    private static final Logger LOG = Logger.getLogger(MirrorSpeculations.class);
    private static final long FORGET_EVERY_MILLIS = 60_000;
    private static final java.time.Duration UNDECIDED_RETRY_FIRST = java.time.Duration.ofSeconds(1);
    private static final java.time.Duration UNDECIDED_RETRY_MAX = java.time.Duration.ofSeconds(30);
    private static final java.time.Duration SETTLE_RETRY = java.time.Duration.ofMillis(50);
    private static final int SETTLE_RETRIES = 3;
    static final String PROCEDURE = "procedure";
    static final String TRANSACTION = "transaction";

    private final SpeculationTable table;
    /** Ids of recorded speculations no one in this process carries on with yet; set by {@link #recover}. */
    private volatile Resumptions<String> resumptions;
    /** How recorded speculations are read back to be resumed; set by {@link #recover}. */
    private volatile RequestParser parse;
    private volatile String origin;
    private final Speculator speculator;
    private final SpeculationStore store;
    private final SpeculationCommits commits;
    private final ObjectMapper json;
    private final String idPrefix;
    private final long retentionMillis;
    private final long maxPendingBytes;
    private final Map<Speculation.Status, Counter> outcomes = new EnumMap<>(Speculation.Status.class);
    private volatile long lastForgotMillis;

    /** {@code applied}: completes once this mirror has applied a log message (see {@link AppliedHere}). */
    MirrorSpeculations(String nodeId, int maxPending, long maxPendingBytes, long retentionMillis, Duration turnWait,
            CoordinatorClient client, ReconcileBatcher reconciler, Speculator.Applied applied, SpeculationStore store,
            ObjectMapper json, MeterRegistry registry) {
        this.table = new SpeculationTable(maxPending, maxPendingBytes, MAX_FINISHED_KEPT, retentionMillis);
        this.maxPendingBytes = maxPendingBytes;
        this.store = store;
        this.json = json;
        this.retentionMillis = retentionMillis;
        this.commits = new SpeculationCommits(client, reconciler, json);
        this.idPrefix = (nodeId.length() > 32 ? nodeId.substring(0, 32) : nodeId) + "-s-";
        for (Speculation.Status s : Speculation.Status.values()) {
            if (s.finished()) {
                outcomes.put(s, Counter.builder("presage_speculations_total").description("speculative transactions finished, by outcome")
                        .tag("outcome", s.name().toLowerCase(java.util.Locale.ROOT)).register(registry));
            }
        }
        registry.gauge("presage_speculations_pending", table, SpeculationTable::pending);
        registry.gauge("presage_speculations_pending_bytes", table, SpeculationTable::pendingBytes);
        this.speculator = new Speculator(commits, journal(), applied, json, nodeId, this::finished, turnWait);
    }

    /**
     * Carries on with the speculations a restart interrupted (recorded, not decided), in the
     * background: each is resumed as {@link Speculator#resume} and {@link Speculator#transaction} say,
     * now or, when its id cannot be claimed yet, on a later {@link #resumeWaiting}.
     */
    void recover(RequestParser parse, String origin) {
        this.parse = parse;
        this.origin = origin;
        resumptions = new Resumptions<>(table, id -> id, (s, id) -> takeOver(s).subscribe().with(m -> s.setUpDone(null), e -> {
            s.setUpDone(e);
            LOG.warnf("speculation %s could not be read back to be resumed (%s); trying again", id, e.toString());
        }));
        // Read until it succeeds: given up after one failure (the database briefly away at start), every
        // interrupted speculation answered SPECULATIVE "being resumed" until the next restart.
        store.undecided()
                .onFailure().invoke(e -> LOG.warnf("the speculations a restart interrupted could not be read (%s); trying again",
                        e.toString()))
                .onFailure().retry().withBackOff(UNDECIDED_RETRY_FIRST, UNDECIDED_RETRY_MAX).indefinitely()
                .subscribe().with(ids -> {
            resumptions.add(ids);
            int resumed = resumptions.retry();
            if (resumed > 0) {
                LOG.infof("resumed %d speculations a restart had interrupted", resumed);
            }
            if (resumptions.waiting() > 0) {
                LOG.warnf("%d speculations a restart had interrupted wait to be resumed (their id held by a client's retry, "
                        + "or %d in flight already)", resumptions.waiting(), table.pending());
            }
        }, e -> LOG.errorf("the speculations a restart interrupted could not be read: %s", e.toString())); // not reached: retried
    }

    /** Resumes the interrupted speculations that could not be claimed before; every refresh. */
    void resumeWaiting() {
        Resumptions<String> r = resumptions;
        if (r != null && r.waiting() > 0) {
            int resumed = r.retry();
            if (resumed > 0) {
                LOG.infof("resumed %d more speculations a restart had interrupted (%d still waiting)", resumed, r.waiting());
            }
        }
    }

    /**
     * Carries on with the speculation recorded under {@code s}'s id, {@code s} being this process's claim
     * of it, just made: its row is read again (what was read at start may be decided by now, by a client's
     * retry that took it over) and resumed if still undecided; otherwise the claim is given up. When there
     * is no row, the id is {@linkplain SpeculationStore#settle settled} first: after a record whose outcome
     * was not known, an insert still running in the server could otherwise land after this look. Answers what
     * a speculative call under the id is told: the live speculation's view, the recorded outcome, or null
     * when nothing is recorded (any more). On a failure to read, the claim is given up and the id waits to
     * be taken over on a later refresh (or by a retry), and the call is told its outcome is not known.
     */
    Uni<Map<String, Object>> takeOver(Speculation s) {
        long now = System.currentTimeMillis();
        return store.settle(s.id(), now).chain(dropped -> dropped ? Uni.createFrom().nullItem() : store.get(s.id())).map(r -> {
            if (r == null || r.finished()) {
                table.abandon(s);
                return r == null ? null : outcome(r);
            }
            resume(s, r);
            return body(s.view());
        }).onFailure().invoke(e -> {
            table.abandon(s);
            resumptions.add(java.util.List.of(s.id()));
        }).onFailure().transform(e -> unknown(s.id(), "its record cannot be read (" + e.getMessage() + ")"));
    }

    private void resume(Speculation s, SpeculationStore.Recorded r) {
        table.charge(s, SpeculationTable.weight(r.body() == null ? 0 : r.body().length()));
        Runnable carryOn;
        try {
            carryOn = readBack(s, r);
        } catch (IOException | RuntimeException e) {
            // Its record does not read back as something this node can send (a transaction over the limits
            // configured now, or one the coordinator refused as too deep or too large before the restart).
            // Abandoned, it answered SPECULATIVE "being resumed" for ever: it is decided now, rolled back
            // unless the coordinator holds a commit under its id.
            LOG.errorf("speculation %s cannot be resumed (%s): rolled back unless the coordinator committed it",
                    r.id(), e.toString());
            speculator.unresumable(s, "the mirror restarted and could not send it again: " + e.getMessage(),
                    !PROCEDURE.equals(r.kind()));
            return;
        }
        try {
            carryOn.run();
        } catch (RuntimeException e) {
            table.abandon(s);
            LOG.errorf("speculation %s cannot be resumed: %s", r.id(), e.toString());
        }
    }

    /** The speculator's step that carries {@code r} on, from its record read back; throws if it cannot be. */
    private Runnable readBack(Speculation s, SpeculationStore.Recorded r) throws IOException {
        if (!PROCEDURE.equals(r.kind())) {
            TxnSpec txn = parse.transaction(r.body().getBytes(StandardCharsets.UTF_8), origin);
            return () -> speculator.transaction(s, txn);
        }
        TxnSpec sent = r.attemptTxn() == null ? null : parse.transaction(r.attemptTxn().getBytes(StandardCharsets.UTF_8), origin);
        JsonNode result = r.attemptResult() == null ? null : json.readTree(r.attemptResult());
        JsonNode speculated = r.speculated() == null ? null : json.readTree(r.speculated());
        Procedure p = Procedures.get(r.name());
        if (p == null) {
            throw new IllegalStateException("no procedure named '" + r.name() + "' in this build");
        }
        JsonNode args = json.readTree(r.body());
        return () -> speculator.resume(s, p, args, r.attempt(), sent, result, speculated);
    }

    /** The speculator's journal, in the store: each attempt's number, transaction and result, and the outcome. */
    private Speculator.Journal journal() {
        return new Speculator.Journal() {
            @Override
            public CompletableFuture<?> attempting(String id, int n, TxnSpec txn, JsonNode result) {
                return store.attempting(id, n, new String(commits.body(txn), StandardCharsets.UTF_8),
                        result == null ? null : result.toString()).subscribeAsCompletionStage();
            }

            @Override
            public CompletableFuture<?> decided(Speculation.View outcome, long recordedMillis) {
                String body;
                try {
                    body = json.writeValueAsString(body(outcome));
                } catch (IOException e) {
                    return CompletableFuture.failedFuture(e);
                }
                return store.finished(outcome.id(), recordedMillis, body).subscribeAsCompletionStage();
            }
        };
    }

    /**
     * Records a speculation before it is answered. False when the store has the id already (from before a
     * restart, kept longer than memory, or a call whose record's reply was lost): the caller, still holding
     * the claim, {@linkplain #takeOver takes it over}.
     *
     * <p>A failed insert may have committed (its reply lost with the connection), and a recorded
     * speculation is resumed and committed after a restart, so a failure alone must not be answered "nothing
     * was done". The store {@linkplain SpeculationStore#settle settles} it first: not recorded, and now never
     * to be, is 503; recorded after all is the same as the id known; and when that cannot be told either,
     * 504 (the outcome is not known; retry under the same id) and the id is left to be taken over on a later
     * refresh, so that it is resumed or found dropped without waiting for a retry or a restart.
     */
    Uni<Boolean> record(Speculation s, String kind, String name, String body) {
        JsonNode speculated = s.view().speculativeResult(); // a procedure's, planned before the record (see plan)
        long now = System.currentTimeMillis();
        return store.record(s.id(), kind, name, body, speculated == null ? null : speculated.toString(), now)
                .onFailure().recoverWithUni(e -> store.settle(s.id(), now)
                        // The pool can hand the settling the very connection that just failed, before it has
                        // seen it closed; a few tries reach a live one. Safe to repeat: an earlier try that
                        // took is found as a row, and a dropped mark is never taken for a speculation.
                        .onFailure().retry().withBackOff(SETTLE_RETRY).atMost(SETTLE_RETRIES)
                        .onFailure().invoke(e2 -> {
                            table.abandon(s);
                            resumptions.add(java.util.List.of(s.id()));
                            LOG.warnf("speculation %s: its record failed (%s) and whether it took cannot be told (%s); "
                                    + "taken over on a later refresh", s.id(), e.toString(), e2.toString());
                        })
                        .onFailure().transform(e2 -> unknown(s.id(), "the mirror's store failed while recording it ("
                                + e.getMessage() + ")"))
                        .map(dropped -> {
                            if (dropped) {
                                table.abandon(s);
                                throw ApiException.unavailable("the mirror's store cannot record the speculation (nothing "
                                        + "was recorded or sent): " + e.getMessage());
                            }
                            return false; // it did take
                        }));
    }

    /** 504 for a speculative call that may or may not be carried on with: the client retries under its id. */
    private static ApiException unknown(String id, String why) {
        return new ApiException(504, "TIMEOUT", "speculation " + id + " may have been recorded; " + why
                + "; its outcome is not known: retry under the same id, or ask GET /v1/transactions/{id}",
                Map.of("id", id));
    }

    /** What the store says of an id this mirror does not hold in memory: its outcome, or null if unknown. */
    Uni<Map<String, Object>> recorded(String id) {
        return store.get(id).map(r -> {
            if (r == null) {
                return null;
            }
            if (!r.finished()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("status", Speculation.Status.SPECULATIVE.name());
                m.put("id", id);
                m.put("message", "recorded, not carried on with in this process yet; being resumed");
                return m;
            }
            return outcome(r);
        });
    }

    private Map<String, Object> outcome(SpeculationStore.Recorded r) {
        try {
            return json.readValue(r.outcome(), MAP);
        } catch (IOException e) {
            throw new IllegalStateException("a recorded outcome is not JSON: " + r.outcome(), e);
        }
    }

    /** The body a plain transaction is recorded with (as {@code POST /v1/transactions} takes it). */
    String body(TxnSpec txn) {
        return new String(commits.body(txn), StandardCharsets.UTF_8);
    }

    /** Forgets, at most once a minute, the recorded speculations decided longer than the retention ago. */
    void forgetOld(long nowMillis) {
        if (nowMillis - lastForgotMillis < FORGET_EVERY_MILLIS) {
            return;
        }
        lastForgotMillis = nowMillis;
        store.forget(nowMillis - retentionMillis).subscribe().with(n -> {
        }, e -> LOG.warnf("old speculations could not be forgotten: %s", e.toString()));
    }

    /** A fresh id for a call that brought none: this node's, random, well within the 120 characters ids may have. */
    String newId() {
        return idPrefix + Long.toUnsignedString(IDS.nextLong(), 36) + Long.toUnsignedString(IDS.nextLong(), 36);
    }

    /** The node stops: no retry of the speculator runs any more (see {@link Speculator#stop}). */
    void stop() {
        speculator.stop();
    }

    /** The byte budget of the speculations in flight ({@code presage.mirror.speculation-max-pending-bytes}). */
    long maxPendingBytes() {
        return maxPendingBytes;
    }

    /** See {@link SpeculationTable#claim(String, long)}. */
    SpeculationTable.Claim claim(String id, long bytes) {
        return table.claim(id, bytes);
    }

    void abandon(Speculation s) {
        table.abandon(s);
    }

    /** See {@link Speculator#plan}: before {@link #record}, so that the 202's result is recorded with the speculation. */
    Procedure.Plan plan(Speculation s, Procedure p, JsonNode args, Speculator.Snapshot local) {
        return speculator.plan(s, p, args, local);
    }

    /** See {@link Speculator#start}: once recorded. */
    void start(Speculation s, Procedure p, JsonNode args, Speculator.Snapshot local, Procedure.Plan plan, boolean clientsId) {
        speculator.start(s, p, args, local, plan, clientsId);
    }

    void transaction(Speculation s, TxnSpec txn) {
        speculator.transaction(s, txn);
    }

    Speculation get(String id) {
        return table.get(id);
    }

    /** Told once a speculation's outcome is recorded and shown. */
    private void finished(Speculation s) {
        table.finished(s);
        outcomes.get(s.view().status()).increment();
    }

    Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pending", table.pending());
        m.put("pendingBytes", table.pendingBytes());
        outcomes.forEach((s, c) -> m.put(s.name().toLowerCase(java.util.Locale.ROOT), (long) c.count()));
        return m;
    }

    /** The JSON fields of {@code GET /v1/transactions/{id}} (and of the 202, which is the first view). */
    static Map<String, Object> body(Speculation.View v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", v.status().name());
        m.put("id", v.id());
        if (v.result() != null) {
            m.put("result", v.result());
        }
        if (v.speculativeResult() != null && v.status() != Speculation.Status.SPECULATIVE) {
            m.put("speculativeResult", v.speculativeResult());
        }
        m.put("attempts", v.attempts());
        if (v.sequence() > 0) {
            m.put("timestamp", v.timestamp());
            m.put("adjusted", v.adjusted());
            // The stream the coordinator named: a commit in a stream made again that this mirror has not noticed
            // yet, shown with this mirror's stream, was a token this mirror took for reached at once.
            m.put("token", Tokens.ofNamed(v.sequence(), v.stream()));
        }
        if (v.reason() != null) {
            m.put("reason", v.reason());
            m.put("conflicts", v.conflicts());
        }
        if (v.message() != null) {
            m.put("message", v.message());
        }
        return m;
    }
}
