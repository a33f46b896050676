package io.presage.mirror;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.LongFunction;
import java.util.function.Supplier;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import jakarta.ws.rs.core.Response;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.presage.api.ApiException;
import io.presage.api.Bodies;
import io.presage.config.Limits;
import io.presage.api.NodeApi;
import io.presage.api.NodeResource;
import io.presage.api.ProcedureCall;
import io.presage.api.RequestParser;
import io.presage.apply.Applier;
import io.presage.apply.ItemStore;
import io.presage.apply.ReadCache;
import io.presage.apply.StoredItem;
import io.presage.config.PresageConfig;
import io.presage.coord.Tokens;
import io.presage.coord.TxnSpec;
import io.presage.mirror.ReadOptions.Consistency;
import io.presage.node.LogConnection;
import io.presage.proc.ProcedureException;
import io.presage.speculate.Speculation;
import io.presage.speculate.SpeculationTable;
import io.presage.speculate.Speculator;
import io.smallrye.mutiny.Uni;
import io.vertx.core.Context;
import io.vertx.core.Vertx;

/**
 * API v1 at a mirror: reads answered locally with a confidence (or after reconciling with the
 * coordinator), causal waits, and writes forwarded to the coordinator. See the package comment.
 */
@ApplicationScoped
public class MirrorApi implements NodeApi {
    private static final String LOCAL = "local";
    private static final String PRIMARY = "primary";
    /** Longest wait for the applier to report a commit a store read already saw (normally microseconds). */
    private static final long CACHE_CATCH_UP_MS = 1_000;
    /** Pause before asking the coordinator again for a position its acks have not reached yet. */
    private static final long COORDINATOR_BEHIND_RETRY_MS = 20;

    @Inject
    LogConnection logs;
    @Inject
    MirrorNode node;
    @Inject
    ItemStore store;
    @Inject
    Applier applier;
    @Inject
    PresageConfig config;
    @Inject
    Limits limits;
    @Inject
    ObjectMapper json;
    @Inject
    MeterRegistry registry;

    private RequestParser parse;
    /** presage_reads_total by [consistency][0 local, 1 primary]: looked up once, not per read. */
    private final Counter[][] reads = new Counter[Consistency.values().length][2];
    private DistributionSummary confidence;
    /** The highest position a store read answered at while the cache was behind it (0: never). */
    private final AtomicLong storeAhead = new AtomicLong();

    @PostConstruct
    void init() {
        parse = new RequestParser(json, limits, logs::maxPayload);
        for (Consistency c : Consistency.values()) {
            for (int s = 0; s < 2; s++) {
                reads[c.ordinal()][s] = Counter.builder("presage_reads_total").description("reads answered at this mirror")
                        .tag("consistency", c.name().toLowerCase(java.util.Locale.ROOT))
                        .tag("source", s == 0 ? LOCAL : PRIMARY).register(registry);
            }
        }
        confidence = DistributionSummary.builder("presage_read_confidence")
                .description("confidence of the local reads answered").publishPercentiles(0.01, 0.1, 0.5)
                .register(registry);
    }

    // ---- reads ------------------------------------------------------------------------------

    @Override
    public Uni<Response> get(String key, ReadParams p) {
        String k = parse.key(key);
        ReadOptions o = options(null, p);
        if (p.session() != null) {
            node.sessionRead(session(p.session()), k, System.currentTimeMillis());
        }
        if (o.consistency() == Consistency.STRONG) {
            return primary(k, o);
        }
        if (o.after() < 0) {
            return local(k, o);
        }
        return causal(o, () -> local(k, o), deadline -> primary(k, o, deadline));
    }

    /**
     * A read with {@code after}: answered locally once the mirror has applied it, unless this mirror's copy
     * cannot be matched with the log ({@link MirrorNode#logIncomplete}): the client's write may be in a
     * message it could not apply, so the coordinator answers. Checked before the wait and again after it:
     * the message the read waited for may be the one that was parked, and parking it moves the applied
     * position past the token and wakes the read all the same. {@code primary} takes the read's deadline:
     * the time spent waiting here counts against its {@code timeoutMs}.
     */
    private Uni<Response> causal(ReadOptions o, Supplier<Uni<Response>> local, LongFunction<Uni<Response>> primary) {
        if (node.logIncomplete()) {
            return fromCoordinator(o, primary);
        }
        return afterPosition(o).onItem().transformToUni(x -> node.logIncomplete() ? fromCoordinator(o, primary) : local.get());
    }

    /**
     * The coordinator's answer to a read with {@code after} counts against its {@code timeoutMs} too: 504 once
     * that runs out. The read used to wait for a slow coordinator as long as the reconcile batcher allows
     * (twice {@code presage.mirror.forward-timeout}), and then got 503, whatever {@code timeoutMs} it gave; so
     * did a strong read with {@code after}, and one whose local copy, once {@code after} was applied, was below
     * its {@code minConfidence} (which also started its {@code timeoutMs} again).
     */
    private Uni<Response> within(Uni<Response> answer, ReadOptions o, long deadlineMillis) {
        long left = Math.max(1, deadlineMillis - System.currentTimeMillis());
        return answer.ifNoItem().after(Duration.ofMillis(left)).failWith(() -> new ApiException(504, "TIMEOUT",
                "the coordinator has not answered within timeoutMs (" + o.timeoutMs() + " ms)" + (node.logIncomplete()
                        ? ", and this mirror's copy is incomplete (see /v1/status)" : ""), Map.of("sequence", o.after())));
    }

    /** What the coordinator answers for a read: for one with {@code after}, by its {@code timeoutMs}. */
    private Uni<Response> fromCoordinator(ReadOptions o, LongFunction<Uni<Response>> primary) {
        Uni<Response> answer = primary.apply(o.deadlineMillis());
        return o.after() < 0 ? answer : within(answer, o, o.deadlineMillis());
    }

    private Uni<Response> local(String k, ReadOptions o) {
        return local(k, o, true);
    }

    private Uni<Response> local(String k, ReadOptions o, boolean mayWait) {
        LogKnowledge.Look known = node.look(k, System.currentTimeMillis()); // before the data: see LogKnowledge, PendingKeys
        ReadCache.Hit h = node.cache().get(k);
        if (h != null && usable(h.position())) {
            return answer(k, o, h.item(), h.position(), known, mayWait);
        }
        return storeRead(List.of(k)).onItem().transformToUni(this::monotonic).onItem().transformToUni(snap -> {
            StoredItem item = snap.items().isEmpty() ? null : snap.items().get(0);
            node.cache().fill(k, item, snap.appliedSequence());
            return answer(k, o, item, snap.appliedSequence(), known, mayWait);
        });
    }

    /**
     * {@code mayWait}: below {@code minConfidence}, a prefetch of the key under way that can lift it there
     * is waited for and the read made again (with what it confirmed); only then, or if it cannot, is the
     * coordinator asked separately. Again from the start: during the wait a newer version may have been
     * received or applied, and the copy read before it is then no longer the one to answer.
     */
    private Uni<Response> answer(String k, ReadOptions o, StoredItem item, long position, LogKnowledge.Look known, boolean mayWait) {
        long now = System.currentTimeMillis();
        double c = node.confidence(k, item == null ? 0 : item.version(), known, position, now);
        if (o.hasMinConfidence() && c < o.minConfidence()) {
            CompletableFuture<?> prefetch = mayWait ? node.prefetchWorthWaitingFor(k, o.minConfidence(), now) : null;
            if (prefetch != null) {
                // A copy: the prefetch is shared by every read waiting for it, and Mutiny cancels the
                // stage of a read whose client goes away, or whose timeoutMs runs out. The prefetch is
                // the coordinator's answer as much as the one primary() would ask for, so a read with
                // after is held to its timeoutMs while it waits (it once waited out forward-timeout).
                return fromCoordinator(o, deadline -> Uni.createFrom().completionStage(prefetch.copy()).onItemOrFailure()
                        .transformToUni((x, e) -> local(k, o, false)));
            }
            return primary(k, o);
        }
        counted(o, LOCAL, c, k, item, known, now);
        return Uni.createFrom().item(Bodies.item(k, item, c, position, Map.of("source", LOCAL, "sequence", position)));
    }

    private Uni<Response> primary(String k, ReadOptions o) {
        return fromCoordinator(o, deadline -> primary(k, o, deadline));
    }

    private Uni<Response> primary(String k, ReadOptions o, long deadlineMillis) {
        return reconcile(List.of(k)).onItem().transformToUni(r -> {
            long floor = floor(o, r);
            if (r.sequence() >= floor) {
                reads[o.consistency().ordinal()][1].increment();
                String token = Tokens.ofNamed(r.sequence(), r.stream()); // of the stream the answer is from
                return Uni.createFrom().item(Bodies.item(k, r.items().get(k), 1.0, token,
                        Map.of("source", PRIMARY, "sequence", r.sequence())));
            }
            return newerHere(List.of(k), o, r, deadlineMillis, () -> primary(k, o, deadlineMillis), l -> {
                reads[o.consistency().ordinal()][1].increment();
                return Bodies.item(k, l.items()[0], 1.0, l.position(), Map.of("source", PRIMARY, "sequence", l.position()));
            });
        });
    }

    /**
     * The position an answer from the coordinator must not be below: what this mirror has applied (it
     * may have served it already, and a client's reads never go back in the log) and the client's
     * {@code after}. The coordinator answers at the log position up to which every append has its
     * ack, and a mirror can apply a message before its ack reaches the coordinator (acks in flight, an
     * append resent after a lost one): its answer is then older than this mirror's copy.
     */
    private long floor(ReadOptions o, ReconcileBatcher.Reconciled r) {
        if (node.logIncomplete() || fromAnotherStream(r)) {
            // What this mirror applied is no floor then: its copy lacks what it could not apply (a parked
            // message, a stream made again), and the coordinator's answer, older in sequence, has it.
            return o.after();
        }
        return Math.max(o.after(), Math.max(node.cache().position(), storeAhead.get()));
    }

    /**
     * Whether the coordinator answered at a position of another log stream than the one this mirror's data was
     * applied from: the stream was made again and this mirror has not noticed yet (its applier notices at its
     * next pull, or not while NATS cannot be reached). Its sequences then count other commits, and this
     * mirror's copy, higher in its own numbering, is no floor for the answer: taken for newer, it was answered
     * as "primary" with confidence 1.
     */
    private boolean fromAnotherStream(ReconcileBatcher.Reconciled r) {
        long mine = applier.appliedLog();
        return r.stream() != 0 && mine != 0 && r.stream() != mine;
    }

    /**
     * This mirror's own copy of {@code keys} at {@code floor} or later, for an answer from the coordinator
     * below it: every commit acknowledged before the coordinator answered is in the log at or before the
     * answer's position, so the newer local copy is at least as current, and is answered with the same
     * confidence (1). An {@code after} this mirror has not applied yet is waited for as a causal read's.
     * Not while the copy is incomplete: the floor was then the client's {@code after} alone, and the
     * coordinator, behind it, is asked again ({@code again}) until its acks reach it.
     */
    private Uni<Response> newerHere(List<String> keys, ReadOptions o, ReconcileBatcher.Reconciled r, long deadlineMillis,
            Supplier<Uni<Response>> again, Function<LocalState, Response> answer) {
        if (node.logIncomplete() || fromAnotherStream(r)) {
            return coordinatorAgain(o, deadlineMillis, again);
        }
        // Only after can be ahead of this mirror: the local state read next is at or past what it applied.
        long left = Math.max(0, deadlineMillis - System.currentTimeMillis());
        return reached(o.after(), left, true).onItem().transformToUni(x -> {
            if (node.logIncomplete()) {
                // The copy lacks what could not be applied (parked since the floor was taken, or while
                // waiting): only the coordinator can vouch, once its acks reach the token.
                return coordinatorAgain(o, deadlineMillis, again);
            }
            return localState(keys).map(answer);
        });
    }

    /**
     * {@code again} (the same read from the coordinator) after a short pause, while the deadline allows:
     * its acks are behind the log by moments (see {@link #floor}). After it, 504 as for a causal wait.
     */
    private Uni<Response> coordinatorAgain(ReadOptions o, long deadlineMillis, Supplier<Uni<Response>> again) {
        long left = deadlineMillis - System.currentTimeMillis();
        if (left <= 0) {
            return Uni.createFrom().failure(new ApiException(504, "TIMEOUT", "the coordinator has not answered at log "
                    + "position " + o.after() + " or later in time, and this mirror's copy is incomplete (see /v1/status)",
                    Map.of("sequence", o.after())));
        }
        Context ctx = Vertx.currentContext();
        Uni<Void> pause = Uni.createFrom().voidItem().onItem().delayIt()
                .by(Duration.ofMillis(Math.min(left, COORDINATOR_BEHIND_RETRY_MS)));
        // Back on this request's context: the answer may read the store, whose client needs it.
        pause = ctx == null ? pause : pause.emitOn(r -> ctx.runOnContext(x -> r.run()));
        return pause.onItem().transformToUni(x -> again.get());
    }

    @Override
    public Uni<Response> batch(byte[] body, ReadParams p) {
        JsonNode root = parse.object(body, "a key list");
        List<String> keys = parse.keys(root);
        ReadOptions o = options(root, p);
        if (o.consistency() == Consistency.STRONG) {
            return primaryBatch(keys, o);
        }
        if (o.after() < 0) {
            return localBatch(keys, o);
        }
        return causal(o, () -> localBatch(keys, o), deadline -> primaryBatch(keys, o, deadline));
    }

    private Uni<Response> localBatch(List<String> keys, ReadOptions o) {
        LogKnowledge.Look[] known = node.look(keys, System.currentTimeMillis()); // before the data
        return localState(keys).onItem().transformToUni(l -> {
            // From the cache, the store's check did not run: the same budget for the answer.
            ItemStore.TooLarge.check(java.util.Arrays.asList(l.items()), limits.batchBytes());
            return answerBatch(keys, o, l.items(), l.position(), known);
        });
    }

    /** Items of {@code keys} (null: absent) at one local log position. */
    private record LocalState(StoredItem[] items, long position) {
    }

    /** The keys at one position: from the cache when it has them all, else all from the store in one statement. */
    private Uni<LocalState> localState(List<String> keys) {
        ReadCache.Hits h = node.cache().getAll(keys);
        if (h != null && usable(h.position())) {
            return Uni.createFrom().item(new LocalState(h.items(), h.position()));
        }
        return storeRead(keys).onItem().transformToUni(this::monotonic).map(snap -> {
            Map<String, StoredItem> byKey = new java.util.HashMap<>();
            for (StoredItem i : snap.items()) {
                byKey.put(i.key(), i);
            }
            StoredItem[] items = new StoredItem[keys.size()];
            for (int i = 0; i < items.length; i++) {
                items[i] = byKey.get(keys.get(i));
                node.cache().fill(keys.get(i), items[i], snap.appliedSequence());
            }
            return new LocalState(items, snap.appliedSequence());
        });
    }

    private Uni<Response> answerBatch(List<String> keys, ReadOptions o, StoredItem[] items, long position, LogKnowledge.Look[] known) {
        long now = System.currentTimeMillis();
        double[] c = new double[items.length];
        for (int i = 0; i < items.length; i++) {
            c[i] = node.confidence(keys.get(i), items[i] == null ? 0 : items[i].version(), known[i], position, now);
            if (o.hasMinConfidence() && c[i] < o.minConfidence()) {
                return primaryBatch(keys, o);
            }
        }
        List<Object> out = new ArrayList<>(items.length);
        for (int i = 0; i < items.length; i++) {
            counted(o, LOCAL, c[i], keys.get(i), items[i], known[i], now);
            out.add(Bodies.itemFields(keys.get(i), items[i], c[i]));
        }
        return Uni.createFrom().item(batchBody(out, position, Tokens.of(position), LOCAL));
    }

    private Uni<Response> primaryBatch(List<String> keys, ReadOptions o) {
        return fromCoordinator(o, deadline -> primaryBatch(keys, o, deadline));
    }

    private Uni<Response> primaryBatch(List<String> keys, ReadOptions o, long deadlineMillis) {
        return reconcile(keys).onItem().transformToUni(r -> {
            long floor = floor(o, r);
            if (r.sequence() >= floor) {
                // The coordinator checked each key once (the batcher asks for distinct keys); the answer
                // repeats a value as often as its key was asked for.
                StoredItem[] items = new StoredItem[keys.size()];
                for (int i = 0; i < items.length; i++) {
                    items[i] = r.items().get(keys.get(i));
                }
                String token = Tokens.ofNamed(r.sequence(), r.stream()); // of the stream the answer is from
                return Uni.createFrom().item(primaryBatchBody(keys, o, items, r.sequence(), token));
            }
            return newerHere(keys, o, r, deadlineMillis, () -> primaryBatch(keys, o, deadlineMillis),
                    l -> primaryBatchBody(keys, o, l.items(), l.position(), Tokens.of(l.position())));
        });
    }

    /** A batch answered with what the coordinator vouched for, held to the same budget as a local one. */
    private Response primaryBatchBody(List<String> keys, ReadOptions o, StoredItem[] items, long position, String token) {
        ItemStore.TooLarge.check(java.util.Arrays.asList(items), limits.batchBytes());
        List<Object> out = new ArrayList<>(keys.size());
        for (int i = 0; i < items.length; i++) {
            reads[o.consistency().ordinal()][1].increment();
            out.add(Bodies.itemFields(keys.get(i), items[i], 1.0));
        }
        return batchBody(out, position, token, PRIMARY);
    }

    private static Response batchBody(List<Object> items, long position, String token, String source) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("items", items);
        m.put("sequence", position);
        m.put("token", token);
        m.put("source", source);
        return Bodies.ok(m);
    }

    private void counted(ReadOptions o, String source, double c, String key, StoredItem item, LogKnowledge.Look known,
            long now) {
        reads[o.consistency().ordinal()][0].increment();
        confidence.record(c);
        node.sampleRead(key, item == null ? 0 : item.version(), c, known, now);
    }

    /** Waits (bounded by timeoutMs) until the mirror has applied the {@code after} position; else 504. */
    private Uni<Void> afterPosition(ReadOptions o) {
        return reached(o.after(), o.timeoutMs(), true);
    }

    /**
     * Completes once the cache's position is at least {@code target}. The applier's thread wakes the
     * waiter; the continuation runs on this request's context again (the store's client needs it).
     * After {@code timeoutMs}: 504 if {@code required}, else it completes anyway.
     */
    private Uni<Void> reached(long target, long timeoutMs, boolean required) {
        CompletableFuture<Void> f = node.waiters().await(target);
        if (f.isDone()) {
            return Uni.createFrom().voidItem();
        }
        if (timeoutMs <= 0) {
            node.waiters().cancel(target, f);
            return required ? Uni.createFrom().failure(timeout(target)) : Uni.createFrom().voidItem();
        }
        Context ctx = Vertx.currentContext();
        Uni<Void> waited = Uni.createFrom().completionStage(f).ifNoItem().after(Duration.ofMillis(timeoutMs))
                .failWith(() -> {
                    node.waiters().cancel(target, f);
                    return timeout(target);
                })
                // A client that goes away cancels the wait (and its timer): the waiter must go too, or it
                // stays until the position is reached, which for a token from the future is never.
                .onCancellation().invoke(() -> node.waiters().cancel(target, f));
        if (!required) {
            waited = waited.onFailure().recoverWithNull();
        }
        return ctx == null ? waited : waited.emitOn(r -> ctx.runOnContext(x -> r.run()));
    }

    /**
     * A store read that saw a commit the applier has not reported to the cache yet (it does so right
     * after the commit) waits for that report before answering, so that the next read, from the cache,
     * is not at an older position: a client's successive reads never go back in the log.
     */
    private Uni<ItemStore.Snapshot> monotonic(ItemStore.Snapshot snap) {
        if (snap.appliedSequence() <= node.cache().position() || snap.appliedSequence() <= storeAhead.get()) {
            return Uni.createFrom().item(snap); // the second: the cache is known to be behind, see below
        }
        return reached(snap.appliedSequence(), CACHE_CATCH_UP_MS, false).invoke(() -> {
            if (node.cache().position() < snap.appliedSequence()) {
                // No report in time: the applier's commit went through but it did not learn so (its
                // connection dropped on the reply) and it is restarting, which reloads the cache.
                // Until then the cache is behind what is being answered here, and must not be read.
                storeAhead.accumulateAndGet(snap.appliedSequence(), Math::max);
            }
        }).replaceWith(snap);
    }

    /** A hit is answered only at or past what a store read has answered (see monotonic). */
    private boolean usable(long hitPosition) {
        return hitPosition >= storeAhead.get();
    }

    private ApiException timeout(long target) {
        return new ApiException(504, "TIMEOUT", "the mirror has not applied log position " + target + " in time",
                Map.of("sequence", target, "appliedSequence", node.cache().position()));
    }

    private Uni<ItemStore.Snapshot> storeRead(List<String> keys) {
        return store.getAll(keys).onFailure(e -> !(e instanceof ApiException || e instanceof ItemStore.TooLarge))
                .transform(e -> ApiException.unavailable("the mirror's store cannot be read: " + e.getMessage()));
    }

    private Uni<ReconcileBatcher.Reconciled> reconcile(List<String> keys) {
        return Uni.createFrom().completionStage(() -> node.reconciler().reconcile(keys))
                .onFailure().transform(MirrorApi::unavailable);
    }

    /** The {@code Presage-Session} header, checked like an id: at most 128 characters, no control characters. */
    private static String session(String s) {
        if (s.isEmpty() || s.length() > 128 || s.chars().anyMatch(Character::isISOControl)) {
            throw ApiException.badRequest(NodeResource.SESSION + " must be 1 to 128 characters without control "
                    + "characters; it was " + s.length() + " long");
        }
        return s;
    }

    /** A read's options with this mirror's timeouts: from the query, and for a batch ({@code body} not null) its body too. */
    private ReadOptions options(JsonNode body, ReadParams p) {
        PresageConfig.Mirror m = config.mirror();
        long dflt = m.causalTimeout().toMillis();
        return body == null
                ? ReadOptions.parse(p.consistency(), p.minConfidence(), p.after(), p.timeoutMs(), dflt, m.maxTimeoutMs())
                : ReadOptions.parseBatch(body, p.consistency(), p.minConfidence(), p.after(), p.timeoutMs(), dflt, m.maxTimeoutMs());
    }

    // ---- writes: forwarded, or speculative ---------------------------------------------------

    @Override
    public Uni<Response> put(String key, byte[] body, String speculative) {
        String k = parse.key(key);
        byte[] value = parse.value(body);
        if (RequestParser.speculative(speculative)) {
            return speculate(TxnSpec.blind(k, value, config.nodeId()).withId(speculations().newId()));
        }
        return forwardWrite("PUT", "/v1/kv/" + CoordinatorClient.pathSegment(k), body);
    }

    @Override
    public Uni<Response> delete(String key, String speculative) {
        String k = parse.key(key);
        if (RequestParser.speculative(speculative)) {
            return speculate(TxnSpec.blind(k, null, config.nodeId()).withId(speculations().newId()));
        }
        return forwardWrite("DELETE", "/v1/kv/" + CoordinatorClient.pathSegment(k), null);
    }

    @Override
    public Uni<Response> transaction(byte[] body, String speculative) {
        TxnSpec txn = parse.transaction(body, config.nodeId());
        if (RequestParser.speculative(speculative)) {
            return speculate(txn.id() != null ? txn : txn.withId(speculations().newId()));
        }
        return forwardWrite("POST", "/v1/transactions", body);
    }

    @Override
    public Uni<Response> procedure(String name, String id, byte[] body, String speculative) {
        boolean speculate = RequestParser.speculative(speculative);
        try {
            ProcedureCall call = ProcedureCall.check(parse, name, id, body);
            if (speculate) {
                return speculate(call, name, call.id() == null ? speculations().newId() : call.id(), call.id() != null,
                        body == null ? 0 : body.length);
            }
        } catch (ProcedureException e) {
            if (e.badInput()) {
                throw ProcedureCall.badInput(e);
            }
            // any other refusal is the coordinator's to give
        }
        String path = "/v1/procedures/" + CoordinatorClient.pathSegment(name) + (id == null ? "" : "?id=" + query(id));
        return forwardWrite("POST", path, body);
    }

    /** A plain transaction (its id set), speculatively: recorded, then 202 at once; the coordinator decides later. */
    private Uni<Response> speculate(TxnSpec txn) {
        String body = speculations().body(txn);
        SpeculationTable.Claim c = claim(txn.id(), SpeculationTable.weight(body.length()));
        if (!c.created()) {
            return known(c.speculation());
        }
        Speculation s = c.speculation();
        return detached(s, speculations().record(s, MirrorSpeculations.TRANSACTION, null, body)
                .onItem().transformToUni(recorded -> {
                    if (!recorded) {
                        return takeOver(s);
                    }
                    speculations().transaction(s, txn);
                    return Uni.createFrom().item(accepted(s));
                }));
    }

    /**
     * Runs a claimed speculation's set-up (local read, record, start) to its end even if the client
     * goes away meanwhile: Quarkus cancels a request's {@code Uni} when its connection closes, and a
     * set-up cancelled halfway would leave the claim in place with nothing sent, answering
     * {@code SPECULATIVE} to every retry and status request until the mirror restarts.
     */
    private static Uni<Response> detached(Speculation s, Uni<Response> setUp) {
        // Marked done before the answer leaves, so that a status request right after it sees it stand.
        CompletableFuture<Response> done = setUp.subscribeAsCompletionStage().whenComplete((r, e) -> s.setUpDone(e));
        // The client's cancellation reaches only this copy, never the set-up itself.
        return Uni.createFrom().completionStage(done.copy());
    }

    /**
     * A procedure, speculatively: planned on local data at one position, recorded, and answered 202 with
     * its result. Nothing is recorded or sent when the local read fails (503).
     */
    private Uni<Response> speculate(ProcedureCall call, String name, String id, boolean clientsId, int bodyBytes) {
        SpeculationTable.Claim c = claim(id, SpeculationTable.weight(bodyBytes));
        if (!c.created()) {
            return known(c.speculation());
        }
        Speculation s = c.speculation();
        List<String> keys = call.keys();
        return detached(s, localState(keys).onFailure().invoke(e -> speculations().abandon(s))
                .onItem().transformToUni(local -> recordAndStart(s, call, name, snapshot(keys, local), clientsId)));
    }

    private Uni<Response> recordAndStart(Speculation s, ProcedureCall call, String name, Speculator.Snapshot local,
            boolean clientsId) {
        // Planned first, so that the result the 202 answers is recorded with the speculation: a restart that
        // loses it cannot tell a re-execution on other data from the speculation committed as answered.
        io.presage.proc.Procedure.Plan plan;
        try {
            plan = speculations().plan(s, call.procedure(), call.args(), local);
        } catch (RuntimeException e) {
            // A plan that fails other than by refusing is a bug; its claim must still go, or it held one of
            // speculation-max-pending's slots until a restart (a huge number did, before it was refused).
            speculations().abandon(s);
            throw e;
        }
        return speculations().record(s, MirrorSpeculations.PROCEDURE, name, call.args().toString())
                .onItem().transformToUni(recorded -> {
                    if (!recorded) {
                        return takeOver(s);
                    }
                    speculations().start(s, call.procedure(), call.args(), local, plan, clientsId);
                    return Uni.createFrom().item(accepted(s));
                });
    }

    private Speculator.Snapshot snapshot(List<String> keys, LocalState local) {
        Map<String, StoredItem> items = new java.util.HashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            items.put(keys.get(i), local.items()[i]);
        }
        return SpeculationCommits.snapshot(keys, items, json);
    }

    /**
     * An id the store has already (from before a restart, kept longer than memory, or a call whose record's
     * reply was lost), claimed by this call: 202 with what it says, carried on with here if undecided.
     */
    private Uni<Response> takeOver(Speculation s) {
        return speculations().takeOver(s).map(m -> {
            if (m == null) { // forgotten between the record and this look: nothing stands under the id now
                throw ApiException.unavailable("speculation " + s.id() + " was being forgotten; nothing was recorded: retry");
            }
            return Bodies.json(202, m);
        });
    }

    private SpeculationTable.Claim claim(String id, long bytes) {
        SpeculationTable.Claim c = speculations().claim(id, bytes);
        if (c == null) {
            throw ApiException.unavailable("too many speculative transactions are waiting for the coordinator (at most "
                    + config.mirror().speculationMaxPending() + ", and " + speculations().maxPendingBytes()
                    + " bytes of them by estimate); retry, or send it without speculative=true");
        }
        return c;
    }

    /**
     * A speculative call under an id this mirror knows: once the claim's set-up is over, the same error as
     * the call that made it, or 202 with the speculation if it stands; given up (its id recorded and decided
     * before, say), what the store says, as the first call was told.
     */
    private Uni<Response> known(Speculation s) {
        return Uni.createFrom().completionStage(s.setUp().copy()).onItem().transformToUni(v -> {
            if (speculations().get(s.id()) == s) {
                return Uni.createFrom().item(accepted(s));
            }
            return speculations().recorded(s.id()).map(m -> {
                if (m == null) {
                    throw ApiException.unavailable("speculation " + s.id() + " was not recorded: retry");
                }
                return Bodies.json(202, m);
            });
        });
    }

    private static Response accepted(Speculation s) {
        return Bodies.json(202, MirrorSpeculations.body(s.view()));
    }

    @Override
    public Uni<Response> transactionOutcome(String id) {
        parse.transactionId(id);
        Speculation s = speculations().get(id);
        if (s != null && s.setUp().isDone() && !s.setUp().isCompletedExceptionally()) {
            return Uni.createFrom().item(Bodies.ok(MirrorSpeculations.body(s.view())));
        }
        // Still being set up, or its set-up failed: not shown as SPECULATIVE, since it may be given up.
        // Not in memory: recorded before a restart, or not speculated here, in which case the coordinator
        // knows whether a transaction with that id committed.
        return speculations().recorded(id).onItem().transformToUni(m -> m != null ? Uni.createFrom().item(Bodies.ok(m))
                : forward("GET", "/v1/transactions/" + CoordinatorClient.pathSegment(id), null));
    }

    private MirrorSpeculations speculations() {
        return node.speculations();
    }

    private Uni<Response> forward(String method, String path, byte[] body) {
        return forward(method, path, body, MirrorApi::unavailable);
    }

    /**
     * A forwarded write: as {@link #forward}, but a request that went out and got no answer is 504, its
     * outcome unknown (the coordinator may have committed it), not 503 "nothing done, retry is safe".
     */
    private Uni<Response> forwardWrite(String method, String path, byte[] body) {
        return forward(method, path, body, MirrorApi::unanswered);
    }

    private Uni<Response> forward(String method, String path, byte[] body, Function<Throwable, Throwable> failure) {
        return Uni.createFrom().completionStage(() -> node.coordinator().send(method, path, body))
                .map(a -> Response.status(a.status()).type(Bodies.JSON).entity(a.body()).build())
                .onFailure().transform(failure);
    }

    private static Throwable unanswered(Throwable e) {
        Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (c instanceof CoordinatorClient.Unreachable u && u.maybeDelivered()) {
            return ApiException.timeout(u.getMessage() + "; the write may still be committed: retry it under the same id, "
                    + "or read before retrying without one");
        }
        return unavailable(e);
    }

    /** {@code ?speculative=}: absent or false forwards, true speculates; anything else is a 400. */
    private static Throwable unavailable(Throwable e) {
        if (e instanceof ApiException) {
            return e;
        }
        Throwable c = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        return ApiException.unavailable(c instanceof CoordinatorClient.Unreachable ? c.getMessage()
                : "the coordinator cannot be reached: " + c.getMessage());
    }

    private static String query(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    // ---- status, reconcile ------------------------------------------------------------------

    @Override
    public Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", "mirror");
        m.put("nodeId", config.nodeId());
        // Unknown (null) until the applier has read apply_state: 0 would say "applied nothing" of a database
        // that may hold the whole log, as at a mirror started while its PostgreSQL cannot be reached.
        m.put("appliedSequence", applier.started() ? applier.appliedSequence() : null);
        m.put("deadLetters", applier.deadLetters());
        if (applier.lastError() != null) {
            m.put("applierError", applier.lastError());
        }
        m.putAll(node.status());
        return m;
    }

    @Override
    public Uni<Response> reconcile(String key) {
        throw notHere();
    }

    @Override
    public Uni<Response> reconcileAll(byte[] body) {
        throw notHere();
    }

    private static ApiException notHere() {
        return ApiException.notFound("reconciliation is answered by the coordinator only; this node is a mirror");
    }
}
