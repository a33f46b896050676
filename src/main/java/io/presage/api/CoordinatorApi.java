package io.presage.api;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.util.RawValue;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.core.Response;

import io.presage.apply.ApplyProgress;
import io.presage.apply.ItemStore;
import io.presage.certify.Certifier;
import io.presage.config.Limits;
import io.presage.config.PresageConfig;
import io.presage.coord.CommitOutcome;
import io.presage.coord.CoordinatorEngine;
import io.presage.coord.ProcedureRunner;
import io.presage.coord.TxnSpec;
import io.presage.mirror.ReadOptions;
import io.presage.node.LogConnection;
import io.presage.proc.Attempts;
import io.presage.proc.Procedure;
import io.presage.proc.ProcedureException;
import io.presage.proc.Procedures;
import io.smallrye.mutiny.Uni;

/** API v1 at the coordinator (see shared/API.md); {@link NodeResource} delegates here in that role. */
@ApplicationScoped
public class CoordinatorApi implements NodeApi {

    @Inject
    LogConnection logs;
    @Inject
    CoordinatorEngine engine;
    @Inject
    ApplyProgress applier;
    @Inject
    PresageConfig config;
    @Inject
    Limits limits;
    @Inject
    ObjectMapper json;

    private RequestParser parse;
    private ProcedureRunner procedures;

    @PostConstruct
    void init() {
        parse = new RequestParser(json, limits, logs::maxPayload);
        procedures = new ProcedureRunner(engine, json, config.nodeId(), config.groupCommit().timeout());
    }

    @Override
    public Uni<Response> get(String key, ReadParams p) {
        String k = parse.key(key);
        ReadOptions o = checked(p);
        readable();
        return afterAcknowledged(o, () -> engine.read(k))
                .map(r -> Bodies.item(k, r.item(), 1.0, r.position(), Map.of()));
    }

    /**
     * A mirror's read options, checked: every read here is strong, so only {@code after} matters (see
     * {@link #afterAcknowledged}). Checked so that a typo ({@code consistency=stron}) is a 400 at either
     * role, not silently accepted here and refused at a mirror. Null when none is given.
     */
    private ReadOptions checked(ReadParams p) {
        if (p.consistency() == null && p.minConfidence() == null && p.after() == null && p.timeoutMs() == null) {
            return null; // the usual read, on the benchmark's hot path: nothing to check, nothing to allocate
        }
        return ReadOptions.parse(p.consistency(), p.minConfidence(), p.after(), p.timeoutMs(),
                config.mirror().causalTimeout().toMillis(), config.mirror().maxTimeoutMs());
    }

    /**
     * Waits, as a mirror does for its applier, until this coordinator has had every append up to the
     * read's {@code after} acknowledged, or answers 504 after its {@code timeoutMs}. Reads here answer at
     * the acknowledged position, and a mirror can apply a message moments before its ack reaches the
     * coordinator: a client that read there, then here with that token, was answered at an earlier
     * position and could miss the write the token stands for. The usual read, with no token or one
     * already reached, does not wait.
     */
    private <T> Uni<T> afterAcknowledged(ReadOptions o, java.util.function.Supplier<Uni<T>> read) {
        if (o == null || o.after() <= engine.readPosition()) {
            return read.get(); // the usual read: no wait, and no stage added on the benchmark's hot path
        }
        return AckWait.until(engine::readPosition, o.after(), System.currentTimeMillis() + o.timeoutMs())
                .onItem().transformToUni(x -> read.get());
    }

    @Override
    public Uni<Response> put(String key, byte[] body, String speculative) {
        RequestParser.speculative(speculative); // checked as a mirror checks it; the coordinator commits at once
        String k = parse.key(key);
        byte[] value = parse.value(body);
        return engine.commit(TxnSpec.blind(k, value, config.nodeId())).map(o -> Bodies.outcome(o, Map.of()));
    }

    @Override
    public Uni<Response> delete(String key, String speculative) {
        RequestParser.speculative(speculative);
        String k = parse.key(key);
        return engine.commit(TxnSpec.blind(k, null, config.nodeId())).map(o -> Bodies.outcome(o, Map.of()));
    }

    @Override
    public Uni<Response> batch(byte[] body, ReadParams p) {
        JsonNode root = parse.object(body, "a key list");
        List<String> keys = parse.keys(root);
        ReadOptions o = ReadOptions.parseBatch(root, p.consistency(), p.minConfidence(), p.after(), p.timeoutMs(),
                config.mirror().causalTimeout().toMillis(), config.mirror().maxTimeoutMs());
        readable();
        return afterAcknowledged(o, () -> engine.readAll(keys)).map(reads -> {
            withinBatchBudget(reads);
            List<Object> items = new ArrayList<>(keys.size());
            for (int i = 0; i < keys.size(); i++) {
                items.add(Bodies.itemFields(keys.get(i), reads.get(i).item(), 1.0));
            }
            long position = position(reads);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("items", items);
            m.put("sequence", position);
            m.put("token", io.presage.coord.Tokens.of(position));
            return Bodies.ok(m);
        });
    }

    @Override
    public Uni<Response> transaction(byte[] body, String speculative) {
        RequestParser.speculative(speculative);
        TxnSpec spec = parse.transaction(body, config.nodeId());
        if (spec.result() == null) {
            return engine.commit(spec).map(o -> Bodies.outcome(o, Map.of()));
        }
        return engine.commit(spec).flatMap(o -> withKeptResult(spec.id(), o));
    }

    /**
     * A committed transaction that carries a result (a mirror's procedure attempt) is answered with the
     * result kept with its id: a repeated id gets the first commit's outcome, and a mirror that sent the
     * same call's attempt from its own plan must learn that the result committed is another's.
     */
    private Uni<Response> withKeptResult(String id, CommitOutcome o) {
        if (!(o instanceof CommitOutcome.Committed)) {
            return Uni.createFrom().item(Bodies.outcome(o, Map.of()));
        }
        // An attempt id is answered with its call's commit, which may be another attempt's, or a plain
        // transaction's under the call's id (see CoordinatorEngine.commit).
        String call = Attempts.callOf(id);
        return engine.committedAny(Attempts.committedIds(call == null ? id : call)).map(known -> Bodies.outcome(o,
                known == null || known.result() == null ? Map.of() : Map.of("result", new RawValue(known.result()))));
    }

    @Override
    public Uni<Response> procedure(String name, String id, byte[] body, String speculative) {
        RequestParser.speculative(speculative);
        try {
            ProcedureCall call = ProcedureCall.check(parse, name, id, body);
            // A plan refuses on what it read, and only the active coordinator's reads are current: a standby
            // (or a holder whose lease lapsed) answered 409 INSUFFICIENT_FUNDS from its stale copy.
            readable();
            return procedures.run(call.procedure(), call.args(), call.keys(), call.id())
                    .map(r -> Bodies.outcome(r.outcome(), r.result() == null ? Map.of() : Map.of("result", r.result())))
                    .onFailure(ProcedureException.class).recoverWithItem(e -> refusalIfCurrent((ProcedureException) e));
        } catch (ProcedureException e) {
            return Uni.createFrom().item(refusal(e));
        }
    }

    /**
     * Whether a transaction with this id committed: under the id itself, or as an attempt
     * {@code "<id>#n"} of a procedure. 404 when it did not (unknown or aborted); one still in flight here
     * is waited for, so that 404 is not said of a transaction acknowledged a moment later (504 if it is
     * not decided within the commit timeout).
     */
    @Override
    public Uni<Response> transactionOutcome(String id) {
        parse.transactionId(id);
        return engine.committedAnyOnceDecided(Attempts.committedIds(id)).map(known -> {
            CommitOutcome o = known == null ? null : known.outcome();
            if (o == null) {
                throw ApiException.notFound("no committed transaction has id '" + id + "'");
            }
            if (o instanceof CommitOutcome.Committed) {
                return Bodies.outcome(o, known.result() == null ? Map.of("id", id)
                        : Map.of("id", id, "result", new RawValue(known.result())));
            }
            return Bodies.outcome(o, Map.of()); // unavailable: 503
        });
    }

    /** A standby (or a holder whose lease lapsed) answers no reads: 503, and clients go to the active one. */
    private void readable() {
        if (!engine.servesReads()) {
            throw ApiException.unavailable("this coordinator is not the active one (" + engine.stateDetail() + ")");
        }
    }

    /** A refusal read from data that may have gone stale while the call ran (the lease lapsed): 503 instead. */
    private Response refusalIfCurrent(ProcedureException e) {
        if (!e.badInput()) {
            readable();
        }
        return refusal(e);
    }

    private static Response refusal(ProcedureException e) {
        if (e.badInput()) {
            throw ProcedureCall.badInput(e);
        }
        return Bodies.aborted(e.reason(), List.of(), e.getMessage(), Map.of());
    }

    @Override
    public Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", config.role());
        m.put("nodeId", config.nodeId());
        m.put("state", engine.state().name());
        m.put("detail", engine.stateDetail());
        Map<String, Object> lease = engine.leaseStatus();
        if (lease != null) {
            m.put("lease", lease);
        }
        m.put("appliedSequence", applier.appliedSequence());
        m.put("committedSequence", engine.lastAcked());
        m.put("recentWrites", engine.recentWrites());
        m.put("readCache", engine.readCacheStats());
        m.put("deadLetters", applier.deadLetters());
        Certifier c = engine.certifier();
        if (c != null) {
            Map<String, Object> cert = new LinkedHashMap<>();
            cert.put("policy", c.config().policy().name().toLowerCase(java.util.Locale.ROOT));
            cert.put("committed", c.stats().committed());
            cert.put("adjusted", c.stats().adjusted());
            cert.put("aborted", c.stats().aborted());
            cert.put("partitions", c.config().partitions());
            cert.put("windowKeys", c.windowSize());
            cert.put("evictions", c.evictions());
            cert.put("coldLookups", c.coldLookups());
            m.put("certification", cert);
        }
        return m;
    }

    @Override
    public Uni<Response> reconcile(String key) {
        String k = parse.key(key);
        readable();
        return engine.read(k).map(r -> Bodies.ok(reconciled(k, r)));
    }

    @Override
    public Uni<Response> reconcileAll(byte[] body) {
        List<String> keys = parse.keys(body);
        readable();
        return engine.readAll(keys).map(reads -> {
            withinBatchBudget(reads);
            List<Object> items = new ArrayList<>();
            for (int i = 0; i < keys.size(); i++) {
                items.add(reconciled(keys.get(i), reads.get(i)));
            }
            long position = position(reads);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("items", items);
            m.put("sequence", position);
            // Names the stream the sequence counts in: a mirror whose data is from another one (the stream
            // was made again, and it has not noticed yet) must not take its own copy for newer than this.
            m.put("token", io.presage.coord.Tokens.of(position));
            return Bodies.ok(m);
        });
    }

    /** Reads answered from memory are held to the same budget as those from the store (which checks before reading). */
    private void withinBatchBudget(List<CoordinatorEngine.Read> reads) {
        long bytes = 0;
        for (CoordinatorEngine.Read r : reads) {
            bytes += ItemStore.TooLarge.valueBytes(r.item());
        }
        ItemStore.TooLarge.check(bytes, limits.batchBytes());
    }

    /** The one position the reads were answered at; for no keys, where a read would be now (not 0: a usable token). */
    private long position(List<CoordinatorEngine.Read> reads) {
        return reads.isEmpty() ? engine.readPosition() : reads.get(0).position();
    }

    private static Map<String, Object> reconciled(String key, CoordinatorEngine.Read r) {
        Map<String, Object> m = Bodies.itemFields(key, r.item(), 1.0);
        m.remove("confidence");
        m.put("sequence", r.position());
        return m;
    }
}
