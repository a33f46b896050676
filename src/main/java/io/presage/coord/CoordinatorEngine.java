package io.presage.coord;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.presage.api.ApiException;
import io.presage.api.ThrottledWarning;
import io.presage.apply.ApplyHook;
import io.presage.apply.CacheLoader;
import io.presage.apply.Applier;
import io.presage.apply.ItemStore;
import io.presage.apply.StoredItem;
import io.presage.certify.BoundedColdVersions;
import io.presage.certify.Certifier;
import io.presage.certify.CertifierLoop;
import io.presage.certify.ColdVersions;
import io.presage.certify.Hlc;
import io.presage.certify.TxnRequest;
import io.presage.config.HeapShare;
import io.presage.config.PresageConfig;
import io.presage.lease.CoordinatorLease;
import io.presage.log.ApplicableBatch;
import io.presage.log.BatchCodec;
import io.presage.log.Appended;
import io.presage.log.JetStreamLog;
import io.presage.log.LogConfig;
import io.presage.log.LogBatch;
import io.presage.log.LogDecodeException;
import io.presage.log.LogMessage;
import io.presage.log.LogTxn;
import io.presage.log.LogWrite;
import io.presage.proc.Attempts;
import io.presage.apply.ReadCache;
import io.presage.node.LogConnection;
import io.nats.client.JetStreamApiException;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;

/**
 * The coordinator: recovery, then certification → group commit → log, and reads that see every
 * acknowledged commit. Runs only in the {@code coordinator} role.
 *
 * <p>Recovery (DESIGN §10): load the store's applied position, replay the log from there into the
 * certifier (writes exactly, reads conservatively) and into the recent-writes map (the store does
 * not have those values yet), then open for writes. Until then writes get 503 and readiness is down.
 * A message it cannot decode, in the replay or parked by the applier, holds it there until an operator
 * has dealt with it (see {@link #replay}).
 * The same procedure runs again whenever group commit finds the log ahead of the certifier.
 */
@ApplicationScoped
public class CoordinatorEngine {
    private static final Logger LOG = Logger.getLogger(CoordinatorEngine.class);
    private final ThrottledWarning lookupFailures = new ThrottledWarning(LOG, 10, TimeUnit.SECONDS);
    /** Longest wait on one store query that commits or recovery depend on. */
    private static final Duration STORE_QUERY_TIMEOUT = Duration.ofSeconds(30);

    /** STANDBY: the lease is enabled and another coordinator holds it; nothing is served. */
    public enum State { STARTING, STANDBY, RECOVERING, READY }

    private record Running(Certifier certifier, CertifierLoop loop, GroupCommit groupCommit) {
        void stop() {
            loop.close();          // queued submissions are answered 503
            groupCommit.abandon(); // and so are those waiting for a place in the pipeline
        }
    }

    @Inject
    PresageConfig config;
    @Inject
    ItemStore store;
    @Inject
    Applier applier;
    @Inject
    LogConnection logs;
    @Inject
    MeterRegistry registry;

    private final Hlc clock = new Hlc();
    private final RecentWrites recent = new RecentWrites();
    /** presage.group-commit.max-unapplied-bytes: past this much in {@link #recent}, commits get 503. */
    private long maxUnappliedBytes;
    /**
     * Ids are forgotten (beyond presage.group-commit.remembered-ids) only once the store holds them: see
     * IdempotencyCache. Made at start, before any request, from the configuration.
     */
    private IdempotencyCache ids;
    /** The store's answers for ids this process does not know, one query at a time for all who ask. */
    private final IdLookups<ItemStore.TxnRecord> idLookups = new IdLookups<>(
            candidates -> store.findTxns(candidates).map(l -> answerable(l, candidates)).subscribeAsCompletionStage(),
            STORE_QUERY_TIMEOUT);
    private final BatchCodec codec = new BatchCodec();
    private final ExecutorService recovery = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "presage-recovery");
        t.setDaemon(true);
        return t;
    });
    private ReadCache cache;
    private volatile Running running;
    private volatile State state = State.STARTING;
    private volatile String stateDetail = "starting";
    private volatile boolean stopping;
    /**
     * Set by the first recovery: from then on this process has every acknowledged commit in the
     * store or the recent writes, and reads may be answered (before, the store may be behind the log).
     */
    private volatile boolean caughtUp;
    /** Null unless {@code presage.lease.enabled}; then commits need it valid. */
    private volatile CoordinatorLease lease;
    /**
     * Recoveries begun (written by the recovery thread only). A recovery forgets the ids in memory and
     * puts back only those of the messages it replays, past what the store has applied; an id looked up
     * in the store before that may have been applied after the lookup's snapshot, and is then nowhere
     * the claim looks. So an id looked up under one count is claimed only under the same.
     */
    private volatile long rebuilds;
    /**
     * The sequence of an undecodable log message recovery is refusing on, 0 when none
     * ({@code presage_coordinator_undecodable_sequence}): see {@link #replay}.
     */
    private volatile long undecodable;
    private Timer publishTimer;
    private Timer delayTimer;
    private DistributionSummary batchTxns;
    private DistributionSummary batchBytes;
    private Counter resyncs;
    /** The store's versions of cold keys, asked without ever holding the certifier long (see the class). */
    private BoundedColdVersions storeVersions;

    void onStart(@Observes StartupEvent ev) {
        ids = new IdempotencyCache(config.groupCommit().rememberedIds(), () -> applier.appliedSequence());
        if (!isCoordinator()) {
            return;
        }
        publishTimer = Timer.builder("presage_publish_seconds").description("log append latency (publish to ack)")
                .publishPercentiles(0.5, 0.99).register(registry);
        delayTimer = Timer.builder("presage_group_commit_delay_seconds")
                .description("time a committed transaction waited for a place in the log pipeline")
                .publishPercentiles(0.5, 0.99).register(registry);
        batchTxns = DistributionSummary.builder("presage_group_commit_batch_transactions")
                .description("transactions per log message").publishPercentiles(0.5, 0.99).register(registry);
        batchBytes = DistributionSummary.builder("presage_group_commit_batch_bytes")
                .description("bytes per log message").register(registry);
        resyncs = Counter.builder("presage_coordinator_resyncs_total")
                .description("rebuilds of the certifier from the log after a failed append").register(registry);
        io.micrometer.core.instrument.Gauge.builder("presage_coordinator_undecodable_sequence", this, e -> e.undecodable)
                .description("the log message recovery cannot decode and waits on an operator for (0: none)")
                .register(registry);
        registry.gauge("presage_recent_writes", recent, RecentWrites::size);
        registry.gauge("presage_recent_writes_bytes", recent, RecentWrites::bytes);
        // Lookups per query: how much the coalescing saves the database (1 = nothing).
        io.micrometer.core.instrument.FunctionCounter.builder("presage_id_lookups_total", idLookups, IdLookups::lookups)
                .description("idempotency ids looked up in the store (commits under an id not in memory)").register(registry);
        io.micrometer.core.instrument.FunctionCounter.builder("presage_id_lookup_queries_total", idLookups, IdLookups::queries)
                .description("store queries that answered them").register(registry);
        // The store must hold everything memory has dropped, asked in the lookup's own statement: checking
        // the read cache's position alone (storeBehindMemory) missed a database restored under a running
        // applier that had not noticed yet, and a lookup took an overwritten version for current.
        storeVersions = new BoundedColdVersions(key -> store.currentVersionBlocking(key, recent.evictedUpTo()),
                config.certification().coldLookupTimeout().toNanos(), config.certification().coldLookupPause().toNanos());
        io.micrometer.core.instrument.FunctionCounter.builder("presage_cold_lookups_refused_total", storeVersions,
                BoundedColdVersions::refused)
                .description("cold keys' versions the store did not give in time: timed out, failed, below what "
                        + "memory has dropped (the database lost applied commits), not asked after such a lookup or "
                        + "past the second's lookup budget (their reads are refused as HISTORY_TOO_SHORT)").register(registry);
        maxUnappliedBytes = HeapShare.orQuarterOfHeap(config.groupCommit().maxUnappliedBytes());
        cache = new ReadCache(config.apply().cacheKeys(), HeapShare.orQuarterOfHeap(config.apply().cacheBytes()));
        registry.gauge("presage_read_cache_keys", cache, ReadCache::size);
        registry.gauge("presage_read_cache_bytes", cache, ReadCache::bytes);
        applier.setHook(cacheHook());
        registry.counter("presage_commits_total", "outcome", "committed", "reason", "");
        registry.counter("presage_certification_adjusted_total");
        applier.onApplied(recent::evictApplied);
        if (config.lease().enabled()) {
            state = State.STANDBY;
            stateDetail = "standby: waiting for the coordinator lease";
            standByFrom(0);
        } else {
            recovery.submit(this::recoverUntilDone);
        }
    }

    /**
     * With the lease enabled: wait for it (the applier meanwhile follows the log into this node's store,
     * so that recovery has little to replay), then recover and serve. A lease lost later stops this
     * process (exit code 3): it may have missed commits of the new holder, and a restarted coordinator
     * is a standby. Commits stop the moment the lease is not valid, before the exit.
     */
    private void standByFrom(long passed) {
        Thread t = new Thread(() -> standBy(passed), "presage-standby");
        t.setDaemon(true);
        t.start();
    }

    /**
     * The lease is taken only while nothing is parked here, once this node's applier has passed {@code passed}
     * (the message a recovery gave the lease up for: see {@link #standAside}). A coordinator holding
     * the lease with a parked message could not serve (recovery refuses: see {@link #replay}), and held it
     * so that no other could either, an upgraded one that reads the message say, until an operator found
     * out why nothing served.
     */
    private void standBy(long passed) {
        CoordinatorLease l = null;
        while (!stopping && l == null) {
            try {
                // The node's log connection, which survives NATS restarts by being replaced (JetStreamLog).
                l = new CoordinatorLease(() -> logs.get().connection(), config.lease().bucket(), "coordinator",
                        config.nodeId(), config.lease().ttl(), config.nats().replicas(),
                        LogConfig.storageType(config.nats().storage()), this::leaseLost);
            } catch (IOException | JetStreamApiException | RuntimeException e) {
                stateDetail = "standby: the lease's bucket cannot be reached (" + e.getMessage() + "); retrying";
                LOG.warn(stateDetail);
                sleep(1_000);
            }
        }
        if (l == null) {
            return;
        }
        try {
            do {
                awaitNothingParked(passed);
                String holder = l.currentHolder();
                stateDetail = "standby: waiting for the coordinator lease" + (holder == null ? "" : ", held by " + holder);
            } while (!l.acquire(() -> stopping || parkedHere(passed)) && !stopping);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (stopping) {
            l.close();
            return;
        }
        lease = l;
        recovery.submit(this::recoverUntilDone);
    }

    /**
     * Whether this node may not take the lease now: see {@link #standBy}. Nor while its applier is stopped at
     * a message the log no longer holds: its recovery could not replay past it either, and a holder that
     * cannot serve keeps out the coordinator whose database is past the cut.
     */
    private boolean parkedHere(long passed) {
        return !applier.started() || applier.deadLetters() > 0 || applier.missingFromLog() != 0
                || applier.appliedSequence() < passed;
    }

    /** Waits (saying why and what to do, in the state's detail) while {@link #parkedHere}. */
    private void awaitNothingParked(long passed) {
        while (!stopping && parkedHere(passed)) {
            if (applier.missingFromLog() != 0) {
                stateDetail = "standby: not taking the coordinator lease: " + holeProblem(applier.missingFromLog());
            } else if (!applier.started() || applier.appliedSequence() < passed) {
                stateDetail = "standby: waiting for this node's applier to apply the log up to " + passed + " (at "
                        + applier.appliedSequence() + ") before taking the coordinator lease";
            } else {
                try {
                    ItemStore.DeadLetters p = awaitStore(() -> store.deadLetters(Long.MAX_VALUE));
                    if (p.count() > 0) {
                        undecodable = p.firstSequence();
                        stateDetail = "standby: not taking the coordinator lease: " + parkedProblem(p);
                    }
                } catch (Exception e) {
                    stateDetail = "standby: cannot read dead_letters (" + e.getMessage() + "); retrying";
                }
            }
            sleep(1_000);
        }
        undecodable = 0; // recovery looks again once the lease is taken
    }

    /** What the parked messages mean for this coordinator, and what an operator does about them. */
    private static String parkedProblem(ItemStore.DeadLetters p) {
        return p.count() + " log message(s) from sequence " + p.firstSequence() + " could not be decoded by this "
                + "build and are parked in dead_letters; its reason column says why (a newer batch format, say, "
                + "from a coordinator upgraded first). Upgrade this node to a build that reads them: on start it "
                + "applies them. Or, once you have looked at them, delete their rows there to go on without their "
                + "writes. No commit is taken here until then";
    }

    /** What a log that no longer holds message {@code sequence}, which this node needs, means here. */
    private String holeProblem(long sequence) {
        return "the log " + config.nats().stream() + " no longer holds sequence " + sequence + ", which this coordinator's "
                + "database has not applied (purged, or aged out by a limit on the stream): replace the database with a copy "
                + "of another node's (README: A mirror after the log was cut), or restore the stream; no commit is taken "
                + "here until then";
    }

    /**
     * Recovery of a lease holder met a log message it cannot decode (or one parked), or one the log no longer
     * holds: it gives the lease up
     * instead of holding it while serving nothing, and stands by again until its applier has passed that
     * message (parking it) and nothing is parked (see {@link #standBy}). Another coordinator of the group
     * that reads the message can then take over; if none can, the group waits for an operator, as one
     * coordinator did, and every standby's state detail says why. Nothing was appended by this recovery
     * (the barrier comes after the replay), so nothing it did needs the lease.
     */
    private void standAside(long sequence, String why) {
        CoordinatorLease l = lease;
        state = State.STANDBY; // before the lease goes: servesReads takes no lease as "not enabled"
        // Once the lease is given up another coordinator may commit, and this one's store and recent
        // writes no longer cover every acknowledged commit: no reads until a recovery has replayed the
        // log again, also while it recovers after taking the lease back (it answered from its cache).
        caughtUp = false;
        stateDetail = "standby: gave the coordinator lease up: " + why;
        LOG.error(stateDetail);
        lease = null;
        l.close();
        standByFrom(sequence);
    }

    private void leaseLost() {
        state = State.STANDBY;
        stateDetail = "stopping: the coordinator lease was lost";
        Running r = running;
        if (r != null) {
            r.stop(); // queued and waiting commits are answered 503
        }
        LOG.error("the coordinator lease was lost; stopping so that a restart comes back as a standby");
        Quarkus.asyncExit(3);
    }

    /**
     * Whether reads may be answered here: not before the first recovery has replayed the log (the store
     * may be behind it), not by a standby, nor by a holder whose lease has lapsed (another coordinator
     * may be committing, and a read here would miss its commits). A later resync does not stop reads:
     * what was acknowledged is still in the store or the recent writes, and while the log is down
     * nothing new can be.
     */
    public boolean servesReads() {
        CoordinatorLease l = lease;
        return caughtUp && state != State.STANDBY && (l == null || l.valid());
    }

    /** Who holds the coordinator lease, for {@code /v1/status}: null when the lease is not enabled. */
    public Map<String, Object> leaseStatus() {
        if (!config.lease().enabled()) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        CoordinatorLease l = lease;
        m.put("held", l != null && l.valid());
        m.put("ttlMs", (l != null ? l.ttl() : config.lease().ttl()).toMillis()); // the bucket's, which the server enforces
        return m;
    }

    void onStop(@Observes ShutdownEvent ev) {
        stopping = true;
        Running r = running;
        if (r != null) {
            r.stop();
        }
        recovery.shutdownNow();
        if (storeVersions != null) {
            storeVersions.close();
        }
        CoordinatorLease l = lease;
        if (l != null) {
            l.close(); // a standby takes over at once instead of after the ttl
        }
    }

    public boolean isCoordinator() {
        return "coordinator".equals(config.role());
    }

    /**
     * The state readiness and {@code /v1/status} report: READY only while this node may serve, so not by a
     * holder whose lease has lapsed (every request is answered 503 from that moment, see {@link #servesReads}).
     * It said READY until the renewer noticed, which with NATS hung comes only once its request has timed out.
     */
    public State state() {
        State s = state;
        return s == State.READY && leaseLapsed() ? State.STANDBY : s;
    }

    public String stateDetail() {
        return state == State.READY && leaseLapsed()
                ? "stopping: the coordinator lease lapsed (not renewed within its ttl); nothing is served" : stateDetail;
    }

    private boolean leaseLapsed() {
        CoordinatorLease l = lease;
        return l != null && !l.valid();
    }

    // ---- recovery ---------------------------------------------------------------------------

    private void recoverUntilDone() {
        String logged = null; // the same failure again is not logged again: one that needs an operator repeats each second
        while (!stopping) {
            try {
                recover();
                return;
            } catch (Exception | Error e) {
                long stuckAt = e instanceof LogDecodeException || e instanceof ParkedMessages ? undecodable
                        : e instanceof LogHole h ? h.sequence : 0;
                if (stuckAt != 0 && lease != null) {
                    standAside(stuckAt, e.getMessage());
                    return;
                }
                // An Error too (out of memory, a stack overflow in a decoder): this runs as an executor's
                // task, which keeps what it throws in a Future nobody reads, so the coordinator stayed
                // "replaying the log" for good, with nothing logged and no retry.
                String detail = "recovery failed, retrying: " + (e instanceof Error ? e.toString() : e.getMessage());
                stateDetail = detail;
                if (e instanceof Error || !detail.equals(logged)) {
                    LOG.warn(detail, e instanceof Error ? e : null);
                    logged = detail;
                }
                sleep(1_000);
            }
        }
    }

    private void recover() throws Exception {
        rebuilds++; // before the ids are forgotten: see rebuilds
        state = State.RECOVERING;
        stateDetail = "replaying the log";
        Running old = running;
        running = null;
        if (old != null) {
            old.stop();
        }
        JetStreamLog log = logs.get();
        awaitApplierStarted(); // it may first move the position back, to apply parked messages again
        long applied = awaitStore(() -> store.appliedSequence());
        awaitCacheAt(applied);
        refuseWhileParked(awaitStore(() -> store.deadLetters(applied))); // after the position: see ItemStore.deadLetters
        // Bounds every write the replay below will not show: the store's largest commit timestamp, kept
        // in one row by the applier (it was max(items.version), a scan of the whole table on every
        // rebuild). It also covers read-only transactions, which write no item, so that no timestamp
        // issued from here (on a host whose clock is behind) falls below one of them.
        long base = awaitStore(() -> store.maxCommitTimestamp());
        clock.observe(base);
        Certifier certifier = new Certifier(config.certification().toCore(), clock, coldVersions(), true);
        certifier.beginRecovery(base);
        JetStreamLog.End end = log.end();
        long last = end.lastSequence();
        long appliedLog = awaitStore(() -> store.appliedLog());
        if (applied > 0 && appliedLog != 0 && appliedLog != end.identity()) {
            // The stream was deleted and made again, and has grown (another coordinator, with an empty
            // database, appended to it): its sequences number other commits than this database's. Replaying
            // from this database's position would certify against a mixture of two logs.
            throw new IllegalStateException("the log " + config.nats().stream() + " is another stream than the one this "
                    + "coordinator's database was applied from (made again since; it ends at " + last + ", the database "
                    + "applied the old one up to " + applied + "): rebuild the database from the new log, or restore the "
                    + "old stream (no commit is taken until then)");
        }
        // Every token given from here on names this stream (the applier says the same once it has looked).
        Tokens.streams(end.identity(), end.identity());
        if (last < applied) {
            // The stream ends before what this database applied from it: it was lost and created again
            // empty (memory storage and a restart, NATS data lost, deleted by hand). Commits appended
            // now would get sequences every applier skips as already applied: never seen by a mirror,
            // and gone from here at the next restart. An operator has to restore the stream.
            throw new IllegalStateException("the log " + config.nats().stream() + " ends at sequence " + last
                    + " but this coordinator's database has applied it up to " + applied
                    + ": the stream was lost or replaced; restore it (no commit is taken until then)");
        }
        long acknowledged = recent.acked();
        if (caughtUp && last < acknowledged) {
            // The same when only the stream's tail was lost (its data restored from an older copy, a
            // host crash before the file store flushed): the database, lagging, has not applied it, but
            // this coordinator acknowledged commits up to `acknowledged`. Going on would append new
            // commits at the lost ones' sequences, which mirrors that applied those skip.
            throw new IllegalStateException("the log " + config.nats().stream() + " ends at sequence " + last
                    + " but this coordinator acknowledged commits up to " + acknowledged
                    + ": the stream lost acknowledged commits; restore it (no commit is taken until then)");
        }
        if (!caughtUp) {
            recent.reset(applied);
        }
        // After the first recovery, the recent writes are kept through a resync: they hold only
        // acknowledged commits (versions enter on the append's ack), so none of them is wrong, and
        // clearing them would let a read meanwhile miss one the store has not applied yet. The
        // replay below puts them again, which changes nothing (RecentWrites.put skips a version it has).
        ids.clear();
        long next = applied + 1;
        long replayed = 0;
        while (next <= last) {
            List<LogMessage> page = log.fetch(next, 256, Duration.ofSeconds(5));
            if (page.isEmpty()) {
                long first = log.end().firstSequence();
                if (first > next) {
                    // The stream emptied past `next` (everything purged, or aged out of a quiet log): the
                    // same hole as below, with no later message to show it. Holding the lease over it kept
                    // out any coordinator that could serve.
                    throw new LogHole(next, holeProblem(next) + " (the stream holds nothing before " + first
                            + "; applied up to " + applied + ")");
                }
                throw new IllegalStateException("the log stopped answering at sequence " + next + " of " + last);
            }
            for (LogMessage m : page) {
                if (m.sequence() != next) {
                    // A fetch answers from the first message at or after `next`: a hole (a message
                    // deleted, or the stream's start cut by a retention limit past what this database
                    // applied) would be skipped. Its commits were acknowledged; certifying without
                    // them could commit over versions this coordinator never saw, and its applier
                    // stops at the same hole. An operator has to restore the stream or the database.
                    throw new LogHole(next, holeProblem(next) + " (the next it holds is " + m.sequence()
                            + "; applied up to " + applied + ")");
                }
                awaitRoomToReplay(m.sequence() - 1);
                replay(certifier, m);
                next = m.sequence() + 1;
                replayed++;
            }
        }
        CoordinatorLease held = lease;
        if (held != null && !held.valid()) {
            // A holder that was paused past its lease (its last append fenced by the new holder's) must
            // not append its barrier: it would fence the new holder's messages in flight, and turn this
            // node READY on its way out. The lease's renewer ends the process.
            throw new IllegalStateException("the coordinator lease has lapsed; not taking writes back");
        }
        long epoch = System.currentTimeMillis();
        last = appendBarrier(log, last, epoch);
        recent.acked(last);
        recent.visible(last);
        certifier.endRecovery();
        GroupCommit gc = new GroupCommit(log, JetStreamLog.subjectFor(0), config.nodeId(),
                epoch, config.groupCommit().maxBytes(), config.groupCommit().retries(),
                config.groupCommit().maxInflight(), config.groupCommit().minInterval().toNanos(),
                config.groupCommit().minIntervalAfter(), last, recent, events());
        CertifierLoop loop = new CertifierLoop(certifier, config.groupCommit().queueCapacity(),
                config.groupCommit().maxTransactions(), gc);
        gc.attach(loop);
        running = new Running(certifier, loop, gc);
        caughtUp = true;
        state = State.READY;
        stateDetail = "ready";
        LOG.infof("coordinator %s ready: log at %d, store applied %d, %d messages replayed; batches compressed by %s",
                config.nodeId(), last, applied, replayed, BatchCodec.compressorName());
    }

    /**
     * Waits until the applier has read its position: on start it first moves that position back below
     * the parked messages this build can decode ({@code Applier#reapplyParked}), and the replay must
     * start from there, not from the position before.
     */
    private void awaitApplierStarted() {
        while (!applier.started()) {
            if (stopping) {
                throw new IllegalStateException("stopping");
            }
            stateDetail = "replaying the log: waiting for the applier to start"
                    + (applier.lastError() == null ? "" : " (" + applier.lastError() + ")");
            sleep(20);
        }
        stateDetail = "replaying the log";
    }

    /**
     * Waits until the read cache has reached {@code applied}, the store's position this recovery replays
     * from: the replay puts only the commits after it in memory, and reads and cold-key versions take the
     * rest from the cache. The cache lags the store when the applier's commit went through but its
     * answer was lost (a connection reset at COMMIT): the applier, failed, restarts a second later from
     * the store's position and reloads the cache there. A recovery in between answered reads without
     * the commits of that chunk, acknowledged before, and certified over them. A cache not yet loaded
     * (position -1, at start) holds nothing and is not waited for: its misses read the store.
     */
    private void awaitCacheAt(long applied) {
        long deadline = System.nanoTime() + STORE_QUERY_TIMEOUT.toNanos();
        for (long p = cache.position(); p >= 0 && p < applied; p = cache.position()) {
            if (stopping) {
                throw new IllegalStateException("stopping");
            }
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("the read cache stayed at log sequence " + cache.position()
                        + " while the database has applied up to " + applied + " (the applier: "
                        + (applier.lastError() == null ? "no error" : applier.lastError()) + ")");
            }
            stateDetail = "replaying the log: waiting for the applier to reach " + applied;
            sleep(10);
        }
        stateDetail = "replaying the log";
    }

    /**
     * Appends an empty message expecting the log to end at {@code last}, the end this recovery
     * replayed, and returns its sequence. Until something of this coordinator's is in the log after
     * {@code last}, another writer could still append there (the coordinator it took over from, its
     * lease run out but an append already on its way, or its process paused before publishing):
     * this coordinator would then serve reads and reconciliations that miss a commit acknowledged to
     * that writer's clients, until its own first append was fenced. Once the barrier is in, such an
     * append is fenced instead; if it came first, the barrier is refused and recovery starts again
     * from the new end.
     */
    private long appendBarrier(JetStreamLog log, long last, long epoch) throws Exception {
        byte[] empty = codec.encode(LogBatch.of(config.nodeId(), epoch, 0, 0, List.of()));
        String id = config.nodeId() + "-" + epoch + "-0"; // group commit's messages count from 1
        Appended a;
        try {
            a = log.append(JetStreamLog.subjectFor(0), empty, id, last)
                    .get(config.groupCommit().timeout().toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof Exception c ? c : e;
        }
        if (a.sequence() != last + 1) {
            throw new IllegalStateException("the recovery barrier was acknowledged at sequence " + a.sequence()
                    + (a.duplicate() ? " as a duplicate" : "") + ", not " + (last + 1));
        }
        return a.sequence();
    }

    /**
     * Waits, before replaying the message after {@code replayed}, while the values and ids replayed so
     * far fill what commits are allowed to hold unapplied ({@code max-unapplied-bytes}, twice the
     * remembered ids) and this node's applier has not reached {@code replayed}: each of its chunks
     * takes what it applied out of memory. The replay kept every value past the database's position
     * whatever the size, so a backlog larger than the heap (an empty or restored database under a long
     * stream, PostgreSQL held up while the log grew) ran the coordinator out of memory, and again at
     * every restart. Commits would be refused (DATABASE_BEHIND) at that size anyway, so the wait costs
     * no availability; nothing is served meanwhile.
     */
    private void awaitRoomToReplay(long replayed) {
        while ((recent.bytes() > maxUnappliedBytes || ids.backlogged()) && applier.appliedSequence() < replayed) {
            if (stopping) {
                throw new IllegalStateException("stopping");
            }
            String error = applier.lastError();
            stateDetail = "replaying the log: waiting for the database to apply up to " + replayed + " (it is at "
                    + applier.appliedSequence() + (error == null ? "" : "; the applier: " + error)
                    + ") before holding more unapplied writes in memory";
            sleep(20);
        }
        stateDetail = "replaying the log";
    }

    /**
     * Why a message that cannot be decoded stops recovery instead of being replayed as a dead letter
     * and gone past: nothing here can tell what it wrote. It may be garbage from a foreign writer, but
     * it may as well hold commits that were acknowledged (a coordinator of a newer format, a damaged
     * batch). Certifying without them would commit over versions this coordinator never saw (a lost
     * update: a read of the version before it counts as current, since neither the replay nor the
     * store has anything newer) and commit the retry of one of its ids a second time. No floor makes
     * that safe: the keys are unknown, so it would have to be every key, refusing nearly every read.
     * Only an operator can tell which it is, so this coordinator takes no commit (readiness down, the
     * state detail saying which message) until one has: the applier parks the message in
     * {@code dead_letters} and on the dead-letter subject, and deleting its row there (once looked at,
     * or after upgrading to a version that reads it) lets recovery go on without it.
     */
    private void replay(Certifier certifier, LogMessage m) throws LogDecodeException {
        LogBatch batch;
        try {
            batch = ApplicableBatch.check(codec.decode(m.data()));
        } catch (LogDecodeException e) {
            undecodable = m.sequence();
            throw new LogDecodeException("log message " + m.sequence() + " cannot be decoded (" + e.getMessage()
                    + "); no commit is taken until an operator has looked at it: upgrade this node to a build that reads "
                    + "it, or, once this node's applier has parked it in dead_letters, delete its row there to go on "
                    + "without its writes", e);
        }
        for (LogTxn t : batch.txns()) {
            String[] keys = new String[t.writes().size()];
            for (int i = 0; i < keys.length; i++) {
                LogWrite w = t.writes().get(i);
                keys[i] = w.key();
                recent.put(new RecentWrites.Version(w.key(), w.delete() ? null : w.valueJson(), t.timestamp(),
                        m.sequence(), t.vclock()));
            }
            certifier.replay(t.timestamp(), keys);
            if (t.id() != null) {
                ids.remember(t.id(), new CommitOutcome.Committed(t.timestamp(), t.adjusted(), m.sequence()), t.result());
            }
        }
    }

    /**
     * Messages this node's applier parked are ones recovery can no longer replay (the store's position
     * is past them) but could not have decoded either: the same reasons as in {@link #replay} hold
     * until an operator has dealt with them. The check also closes the race in which the applier
     * parks a message just before recovery reads the position, so that the replay never meets it.
     */
    private void refuseWhileParked(ItemStore.DeadLetters parked) {
        if (parked.count() > 0) {
            undecodable = parked.firstSequence();
            throw new ParkedMessages(parkedProblem(parked));
        }
        undecodable = 0;
    }

    /** Recovery refuses on messages this node's applier parked: see {@link #refuseWhileParked}. */
    private static final class ParkedMessages extends IllegalStateException {
        ParkedMessages(String message) {
            super(message);
        }
    }

    /** Recovery refuses at a message the log no longer holds: see {@link #holeProblem}. */
    private static final class LogHole extends IllegalStateException {
        final long sequence;

        LogHole(long sequence, String message) {
            super(message);
            this.sequence = sequence;
        }
    }

    private GroupCommit.Events events() {
        return new GroupCommit.Events() {
            @Override
            public void resyncNeeded(String why) {
                LOG.warnf("rebuilding the certifier from the log: %s", why);
                resyncs.increment();
                state = State.RECOVERING;
                stateDetail = why;
                recovery.submit(CoordinatorEngine.this::recoverUntilDone);
            }

            @Override
            public void published(int txns, int bytes, long delayNanos, long nanos) {
                publishTimer.record(nanos, TimeUnit.NANOSECONDS);
                delayTimer.record(delayNanos, TimeUnit.NANOSECONDS);
                batchTxns.record(txns);
                batchBytes.record(bytes);
            }
        };
    }

    /**
     * A cold key's exact version: from memory (recent writes are not in the store yet), else the store;
     * {@link ColdVersions#UNKNOWN} (the read aborts, HISTORY_TOO_SHORT) while the store is behind what
     * memory has dropped. The database then lost commits it had applied (restored, failed over) and the
     * applier, started again below them, reloaded the read cache from it: a key written in the lost
     * range, out of the certifier's window, had its old version taken as current, and a transaction that
     * read that version committed over an acknowledged write. Before the applier has noticed the loss the
     * cache still stands above it, so the store's lookup also checks the database's own position (see
     * where {@link #storeVersions} is made).
     */
    private ColdVersions coldVersions() {
        return key -> {
            InMemory m = inMemory(key);
            if (storeBehindMemory()) {
                return ColdVersions.UNKNOWN;
            }
            return m != null ? m.version() : storeVersions.currentVersion(key);
        };
    }

    /**
     * Whether the store (and the read cache, which follows the applier) is below versions memory has
     * dropped. Evicting follows the cache's move (the applier's hooks run in that order), so reading the
     * eviction mark first and the cache's position second never sees a store that is merely moving.
     */
    private boolean storeBehindMemory() {
        long dropped = recent.evictedUpTo();
        return cache.position() < dropped;
    }

    /** What memory alone holds of a key: {@code item} null when the key is absent (or deleted). */
    private record InMemory(StoredItem item) {
        long version() {
            return item == null ? 0 : item.version();
        }
    }

    /**
     * What memory alone knows of {@code key} now: the newer of its recent write and the read cache's
     * copy; null when neither holds it (only the store knows).
     */
    private InMemory inMemory(String key) {
        RecentWrites.Version v = recent.get(key); // before the cache: see read()
        ReadCache.Hit hit = cache.get(key);
        if (hit == null && v == null) {
            return null;
        }
        return new InMemory(newer(hit == null ? null : hit.item(), v));
    }

    /**
     * Keeps the read cache current: the applier calls it after each database commit, before its
     * listeners — so before {@link RecentWrites#evictApplied} drops the versions it just stored.
     */
    private ApplyHook cacheHook() {
        return new ApplyHook() {
            @Override
            public void starting(long appliedSequence) {
                CacheLoader.loadIfMoved(cache, store, appliedSequence);
            }

            @Override
            public boolean followsEachWrite() {
                return false; // only the chunk's final states, for the cache: nothing built per write
            }

            @Override
            public void received(long sequence, long timestampMillis, List<AppliedWrite> writes) {
                // not called (followsEachWrite is false)
            }

            @Override
            public boolean validate(AppliedWrite write) {
                return true; // not called (followsEachWrite is false)
            }

            @Override
            public void applied(long sequence, long lastTimestampMillis, Map<String, StoredItem> items,
                                List<AppliedWrite> writes) {
                cache.applied(sequence, items);
            }

            @Override
            public void drained(long nowMillis) {
                // nothing to learn: the coordinator is the source of the log
            }
        };
    }

    // ---- writes -----------------------------------------------------------------------------

    public Uni<CommitOutcome> commit(TxnSpec spec) {
        if (spec.id() == null) {
            return submitAsRead(spec, null); // the stamp is for ids only: none taken on the hot path without one
        }
        return withinCommitTimeout(spec);
    }

    /**
     * A commit under an id answers within {@code presage.group-commit.timeout} as a whole, as the README
     * says of every commit. Its steps are each bounded by that timeout (the store's lookup of the id, the
     * wait for the certifier and the log, the wait for a rival claim of its namespace), and they used to
     * add up: an id looked up for most of the timeout, then a log that did not answer, took twice the
     * timeout, and a plain transaction that yielded to a procedure call's attempt three times. One timer
     * from the start bounds them all. Its answer says what is known: while the store has not said whether
     * the id committed before, nothing was submitted (503 {@code STORE_SLOW}, as the lookup's own bound
     * answers); after that, the commit may still be made (504, retry under the id). The steps' own bounds
     * stay: they end a wait of a step that began late, and every future they wait on is a copy, so the
     * cancellation this timer brings leaves the claims the idempotency cache holds alone.
     */
    private Uni<CommitOutcome> withinCommitTimeout(TxnSpec spec) {
        IdLookup lookup = new IdLookup();
        return Uni.createFrom().deferred(() -> commitUnderId(spec, lookup))
                .ifNoItem().after(config.groupCommit().timeout())
                .recoverWithUni(() -> lookup.running ? unavailable("STORE_SLOW", STORE_SLOW)
                        : Uni.createFrom().item(NOT_ANSWERED_IN_TIME));
    }

    /** Whether a commit's lookup of its id in the store is under way: see {@link #withinCommitTimeout}. */
    private static final class IdLookup {
        volatile boolean running;
    }

    /**
     * A commit not answered within the timeout, by {@link #bounded} or {@link #withinCommitTimeout}: one
     * instance, not one built for every commit on the hot path whether it times out or not.
     */
    private static final CommitOutcome NOT_ANSWERED_IN_TIME = new CommitOutcome.Unknown("no answer in time: the commit "
            + "may still be made; retry under the same id, or read before retrying without one");

    private Uni<CommitOutcome> commitUnderId(TxnSpec spec, IdLookup lookup) {
        IdLookupStamp lookedUpAt = idLookupStamp(); // before the state check: a recovery begun after it changes it
        if (state != State.READY) {
            // Until recovery has replayed the log, the ids committed after the store's position are not
            // known: a lookup now could miss one, and submit() could run after recovery and commit it again.
            return unavailable("NOT_READY", notReady());
        }
        CompletableFuture<CommitOutcome> known = ids.get(spec.id());
        if (known != null && !superseded(known)) {
            return awaitClaim(known, spec);
        }
        String id = spec.id();
        String call = Attempts.callOf(id);
        // One namespace (API.md: the same id again returns the first outcome): a procedure call x commits
        // as its attempts "x#n", and once one has, a plain transaction "x" is that call again, and any
        // attempt of x is answered by the commit, whichever attempt made it (the call commits once: the
        // coordinator's runner and mirrors may run it side by side, and a restart forgets the aborts that
        // keep a late attempt from committing); a plain "x" that committed first answers the call. Memory
        // holds the attempts under their own ids; the store holds a committed attempt under its call's id
        // as well (see Applier), so a lookup of the call's id finds any of them.
        CommitOutcome.Committed c = committedInNamespace(call == null ? id : call);
        if (c != null) {
            return Uni.createFrom().item(c);
        }
        List<String> candidates = call == null ? List.of(id) : List.of(id, call);
        lookup.running = true;
        return storedIds(candidates).onItem().transformToUni(found -> {
            lookup.running = false;
            if (found == null) {
                return unavailable("STORE_SLOW", STORE_SLOW);
            }
            ItemStore.TxnRecord rec = found.get(id);
            if (rec == null && call != null) {
                rec = found.get(call);
            }
            return rec != null
                    ? Uni.createFrom().item((CommitOutcome) new CommitOutcome.Committed(rec.timestamp(), rec.adjusted(), rec.sequence()))
                    : submitAsRead(spec, lookedUpAt);
        });
    }

    /** The commit this process holds for plain transaction {@code call} or any attempt of call {@code call}. */
    private CommitOutcome.Committed committedInNamespace(String call) {
        CommitOutcome.Committed c = committedInMemory(call);
        for (int n = 0; c == null && n < Attempts.MAX; n++) {
            c = committedInMemory(Attempts.id(call, n));
        }
        return c;
    }

    /**
     * 503 while not serving: the state's detail is a phrase ("replaying the log", "recovery failed,
     * retrying: …", "standby: …"), which read as "the coordinator is recovery failed" when pasted after
     * "is".
     */
    private CommitOutcome notReady() {
        return new CommitOutcome.Unavailable("the coordinator is not ready (" + stateDetail + "); retry");
    }

    private static final CommitOutcome LEASE_LAPSED = new CommitOutcome.Unavailable("the coordinator lease has lapsed");

    /** What an earlier attempt id of the call whose attempt is being claimed is taken to have been: aborted. */
    private static final CommitOutcome SUPERSEDED = new CommitOutcome.Aborted(io.presage.certify.AbortReason.STALE_READ, List.of());

    /**
     * Whether {@code f} is a later attempt's claim of this id as aborted ({@link #SUPERSEDED}), which is
     * a belief, not an outcome: the claim is made on a store lookup that can miss an id forgotten from
     * memory while it ran (the later attempt is then refused IDS_FORGOTTEN, but its claims stay, since
     * another attempt may already rely on them). The store is asked before such a claim answers: a
     * commit it holds is the id's outcome, and the claim stands only if it holds none.
     */
    private static boolean superseded(CompletableFuture<CommitOutcome> f) {
        return decided(f) == SUPERSEDED;
    }

    /** {@code f}'s outcome once it has one; null while it is being decided (or if it failed). */
    private static CommitOutcome decided(CompletableFuture<CommitOutcome> f) {
        return f.isDone() && !f.isCompletedExceptionally() ? f.getNow(null) : null;
    }

    /**
     * Submits a client's transaction with its reads of version 0 made exact. API v1 reports a key that
     * does not exist with version 0, whether it was never written or deleted, so a client that read a
     * deleted key sends 0. The certifier knows a key's versions as write timestamps, a deletion's
     * included: against a deleted key's history, 0 would look stale and abort the transaction, or
     * place it before the key was ever written. Such a read is certified as a read of the deletion the
     * key is at now: the client saw the key absent, and it is absent from that deletion on. A key that
     * exists now keeps 0, which is stale, as it should be; a race with a write after this lookup is
     * the certifier's to judge, as for any read.
     *
     * <p>The lookup is in memory only (recent writes, then the read cache, which usually holds the
     * whole store): a commit never waits for the database, which may be slow or down while commits go
     * on. A key neither holds is left at 0, which at worst aborts the transaction.
     */
    private Uni<CommitOutcome> submitAsRead(TxnSpec spec, IdLookupStamp lookedUpAt) {
        List<TxnSpec.Read> reads = null;
        for (int i = 0; i < spec.reads().size(); i++) {
            TxnSpec.Read r = spec.reads().get(i);
            long deletedAt = r.version() == 0 ? deletionInMemory(r.key()) : 0;
            if (deletedAt > 0) {
                if (reads == null) {
                    reads = new ArrayList<>(spec.reads());
                }
                reads.set(i, new TxnSpec.Read(r.key(), deletedAt));
            }
        }
        return submit(reads == null ? spec : new TxnSpec(spec.id(), reads, spec.writes(), spec.origin(), spec.result()), lookedUpAt);
    }

    /** The version of the deletion {@code key} is at now, if memory knows it; else 0. */
    private long deletionInMemory(String key) {
        InMemory m = inMemory(key);
        return m != null && m.item() != null && m.item().deleted() ? m.item().version() : 0;
    }

    /**
     * {@link #commit} for an id its caller has just asked {@link #committedAny} about and found
     * committed nowhere (a procedure call's attempts): the store is not asked again. Memory still
     * is, when the commit claims the id, and since recovery it holds every id the store lacks.
     */
    public Uni<CommitOutcome> commitUnseen(TxnSpec spec, IdLookupStamp lookedUpAt) {
        return submit(spec, lookedUpAt);
    }

    /** To take before an id lookup ({@link #committedAny}) and hand to {@link #commitUnseen}. */
    public IdLookupStamp idLookupStamp() {
        long r = rebuilds; // first: a recovery resets the applied position it is compared with
        return new IdLookupStamp(r, applier.appliedSequence());
    }

    /**
     * A lookup's "not there" holds only for ids the store had applied: once the database has lost commits
     * (restored, failed over to a replica that lacked them) it may lack an id that memory, counting on the
     * store, has forgotten. The id then committed again (the call applied twice) until the applier
     * noticed, at the next message. Every id asked for and not found is then answered {@link #STORE_BEHIND}
     * instead, and a lookup that finds nothing but that is answered 503 ({@link #trusted}) until the applier
     * has applied the lost range again. An id found is an answer all the same.
     */
    private Map<String, ItemStore.TxnRecord> answerable(ItemStore.TxnLookup l, List<String> asked) {
        if (!ids.forgotCommittedAfter(l.appliedSequence())) {
            return l.found();
        }
        Map<String, ItemStore.TxnRecord> m = new java.util.HashMap<>(l.found());
        for (String id : asked) {
            m.putIfAbsent(id, STORE_BEHIND);
        }
        return m;
    }

    /** Stands for "not found, and the store cannot say": compared by identity. */
    private static final ItemStore.TxnRecord STORE_BEHIND = new ItemStore.TxnRecord("", 0, false, -1, null);

    /** What a lookup found, or null (503) when it found nothing and the store could not answer for all it lacks. */
    private Map<String, ItemStore.TxnRecord> trusted(Map<String, ItemStore.TxnRecord> found) {
        if (!found.containsValue(STORE_BEHIND)) {
            return found;
        }
        Map<String, ItemStore.TxnRecord> real = new java.util.HashMap<>(found);
        real.values().removeIf(r -> r == STORE_BEHIND);
        if (real.isEmpty()) {
            lookupFailures.warn("an idempotency id lookup answered 503: the database has applied the log only below ids "
                    + "this coordinator has forgotten (it lost commits: restored, or failed over, or the lookup raced its "
                    + "applier); the applier applies them again");
            return null;
        }
        return real;
    }

    private static final CommitOutcome STORE_SLOW = new CommitOutcome.Unavailable(
            "the coordinator's database did not say in time whether this id committed before; retry");

    /**
     * Those of {@code candidates} the store holds, or null (the item) when it does not answer within
     * the commit timeout: a client gets 503 and retries, as when the log is slow, instead of hanging.
     * A lookup that fails answers the same: only connection errors were mapped to 503, and any other
     * failure (a statement timeout, the lookups' own bound when the commit timeout is longer, a busy
     * pool) reached the client as 500.
     */
    private Uni<Map<String, ItemStore.TxnRecord>> storedIds(List<String> candidates) {
        return Uni.createFrom().completionStage(() -> idLookups.find(candidates)).map(this::trusted)
                .ifNoItem().after(config.groupCommit().timeout()).recoverWithItem(() -> null)
                .onFailure().recoverWithItem(e -> {
                    lookupFailures.warn("an idempotency id lookup failed, answered 503: " + e);
                    return null;
                });
    }

    /** Whether this process has an outcome (or a commit under way) for idempotency id {@code id}. */
    public boolean knowsId(String id) {
        return ids.get(id) != null;
    }

    /** An id's outcome and, for a procedure attempt, the procedure's result as JSON text (else null). */
    public record Known(CommitOutcome outcome, String result) {
    }

    /**
     * The outcome of the first of these idempotency ids known to have committed, with its procedure
     * result, or null (the item) if none has: this process's outcomes, which since recovery include
     * every id in the log after the store's position, then the store's. Unavailable until recovery is
     * done.
     */
    public Uni<Known> committedAny(List<String> candidates) {
        if (state != State.READY) {
            return Uni.createFrom().item(new Known(notReady(), null));
        }
        CoordinatorLease l = lease;
        if (l != null && !l.valid()) {
            // Another coordinator may hold the lease and have committed one of these since: "none" from here
            // would be a guess (GET /v1/transactions/{id} answered 404, a call ran again on stale data).
            return Uni.createFrom().item(new Known(LEASE_LAPSED, null));
        }
        for (String id : candidates) {
            // The result first: an id is forgotten from memory before its result is, so a result read
            // first is still there if the commit then is. The other way round, an id forgotten between
            // the two reads answered a committed call without its result, which reads as a plain commit.
            String result = ids.result(id);
            CommitOutcome.Committed c = committedInMemory(id);
            if (c != null) {
                return Uni.createFrom().item(new Known(c, result));
            }
        }
        return storedIds(candidates).map(found -> {
            if (found == null) {
                return new Known(STORE_SLOW, null);
            }
            ItemStore.TxnRecord first = null;
            for (ItemStore.TxnRecord rec : found.values()) {
                if (first == null || rec.sequence() < first.sequence()) {
                    first = rec;
                }
            }
            return first == null ? null
                    : new Known(new CommitOutcome.Committed(first.timestamp(), first.adjusted(), first.sequence()), first.result());
        });
    }

    /**
     * {@link #committedAny}, asked once every candidate this process has in flight is decided (waited for
     * at most the commit timeout): for an answer that "none committed" must not be wrong about. The plain
     * look skips a claim still in flight, so a call whose plan refused while another run of it was being
     * appended (a mirror's attempt {@code id#0}, in memory but unacknowledged) was answered 409, the
     * refusal remembered, and that run committed a moment later; {@code GET /v1/transactions/{id}} said 404
     * for such an id, and whoever asked took the call for not run and ran it again. Still undecided at the
     * bound, the answer is {@link #STILL_DECIDING}: it may yet commit.
     */
    public Uni<Known> committedAnyOnceDecided(List<String> candidates) {
        List<CompletableFuture<CommitOutcome>> inFlight = null;
        for (String id : candidates) {
            CompletableFuture<CommitOutcome> f = ids.get(id);
            if (f != null && !f.isDone()) {
                if (inFlight == null) {
                    inFlight = new ArrayList<>(2);
                }
                inFlight.add(f);
            }
        }
        if (inFlight == null) {
            return committedAny(candidates);
        }
        List<CompletableFuture<CommitOutcome>> waited = inFlight;
        // On copies, for the reason bounded() gives: a stage Mutiny cancels must not be the cache's own.
        CompletableFuture<Void> all = CompletableFuture.allOf(waited.stream().map(CompletableFuture::copy).toArray(CompletableFuture[]::new))
                .completeOnTimeout(null, config.groupCommit().timeout().toMillis(), TimeUnit.MILLISECONDS)
                .handle((v, e) -> null);
        return Uni.createFrom().completionStage(all).flatMap(v -> waited.stream().allMatch(CompletableFuture::isDone)
                ? committedAny(candidates)
                : Uni.createFrom().item(new Known(STILL_DECIDING, null)));
    }

    private static final CommitOutcome STILL_DECIDING = new CommitOutcome.Unknown("a transaction under this id (or "
            + "another run of its call) was not decided in time: it may still commit; ask again under the same id");

    /** The commit this process holds for {@code id}, or null (unknown, aborted, or still being decided). */
    private CommitOutcome.Committed committedInMemory(String id) {
        CompletableFuture<CommitOutcome> f = ids.get(id);
        return f != null && decided(f) instanceof CommitOutcome.Committed c ? c : null;
    }

    private Uni<CommitOutcome> submit(TxnSpec spec, IdLookupStamp lookedUpAt) {
        Running r = running;
        if (state != State.READY || r == null) {
            return unavailable("NOT_READY", notReady());
        }
        CoordinatorLease l = lease;
        if (l != null && !l.valid()) {
            return unavailable("LEASE_LAPSED", LEASE_LAPSED);
        }
        long unapplied = recent.bytes();
        if (unapplied > maxUnappliedBytes) {
            // Backpressure, not a crash: every commit the database has not applied is held in memory, so
            // with PostgreSQL down or slow the heap would fill; clients retry once it has caught up.
            return unavailable("DATABASE_BEHIND", new CommitOutcome.Unavailable(String.format(java.util.Locale.ROOT,
                    "the coordinator's database is behind the log (%,d kB of committed writes not yet applied, "
                            + "limit %,d kB); retry", unapplied / 1024, maxUnappliedBytes / 1024)));
        }
        if (spec.id() != null && ids.backlogged()) {
            return unavailable("DATABASE_BEHIND", new CommitOutcome.Unavailable("the coordinator's database is behind the log: "
                    + "the idempotency ids it has not stored fill the memory set aside for them; retry"));
        }
        if (spec.id() != null && rebuilds != lookedUpAt.rebuilds()) {
            return unavailable("REBUILT", new CommitOutcome.Unavailable(
                    "the coordinator rebuilt its state while looking the id up; retry with the same id"));
        }
        if (spec.id() != null) {
            // Attempt n of a call commits only if none of its earlier attempts did: each earlier id this
            // process does not hold is claimed as aborted (a restart forgets aborts, and a walk that skipped
            // an id left it open), so a later run of the call that tries it goes on past it; one committed
            // answers this attempt, one being decided is waited for.
            for (String e : Attempts.earlier(spec.id())) {
                CompletableFuture<CommitOutcome> prior = ids.claim(e, CompletableFuture.completedFuture(SUPERSEDED), null);
                if (prior != null && !(decided(prior) instanceof CommitOutcome.Aborted)) {
                    return bounded(prior).flatMap(o -> o instanceof CommitOutcome.Aborted ? submit(spec, lookedUpAt)
                            : Uni.createFrom().item(o));
                }
            }
        }
        CompletableFuture<CommitOutcome> answer = new CompletableFuture<>();
        if (spec.id() != null) {
            CompletableFuture<CommitOutcome> prior = ids.claim(spec.id(), answer, spec.result());
            if (prior != null) {
                return awaitClaim(prior, spec);
            }
            if (ids.forgotCommittedAfter(lookedUpAt.applied())) {
                // Checked after claiming: an id forgotten between a check and the claim would be missed.
                // Completing the claim undecided drops it again, and anyone who waited on it retries.
                CommitOutcome refused = new CommitOutcome.Unavailable("the coordinator forgot idempotency ids "
                        + "while looking this one up; retry with the same id");
                answer.complete(refused);
                return unavailable("IDS_FORGOTTEN", refused);
            }
        }
        if (spec.id() != null) {
            CompletableFuture<CommitOutcome> later = laterAttemptClaim(spec.id());
            if (later != null) {
                return behind(later, answer);
            }
            CompletableFuture<CommitOutcome> rival = rivalClaim(spec.id());
            if (rival != null) {
                return Attempts.callOf(spec.id()) == null ? yieldTo(rival, spec, answer) : after(rival, r, spec, answer);
            }
        }
        return certify(r, spec, answer);
    }

    private Uni<CommitOutcome> certify(Running r, TxnSpec spec, CompletableFuture<CommitOutcome> answer) {
        toCertifier(r, spec, answer);
        return bounded(answer);
    }

    /** Hands {@code spec} to the certifier; {@code answer} completes with its outcome, counted once. */
    private void toCertifier(Running r, TxnSpec spec, CompletableFuture<CommitOutcome> answer) {
        GroupCommit.Answer callback = answer::complete;
        if (!r.loop().submit(toRequest(spec), spec, callback)) {
            answer.complete(new CommitOutcome.Unavailable("the coordinator is overloaded (or rebuilding its state); retry"));
        }
        answer.thenAccept(this::count);
    }

    // ---- one namespace: a plain transaction "x" against procedure call x's attempts "x#n" -----------
    //
    // Each side claims its own id, then looks at the other's: plain "x" at "x#0".."x#7", attempt "x#n" at
    // "x". The claims and looks are operations on one concurrent map, so of two racing, at least one sees
    // the other's claim. Both used to look only at what had committed, in memory or the store, before
    // claiming; two sent at once each found nothing, and both committed.
    //
    // The tie is broken one way, so that two never wait on each other: the plain transaction yields (drops
    // its claim, then waits for the attempt), the attempt waits with its claim held for the plain one it
    // saw. The attempt's wait ends at once if that plain transaction yielded; it goes on if the plain one
    // committed, then answering with that commit.

    /**
     * The outcome of another request's claim of {@code spec}'s id (a repeat of this one in flight). A
     * claim that yielded decided nothing: the other side of the namespace has committed or is being
     * decided, and this request looks again, as its claimant did, rather than answer 503 for it.
     */
    private Uni<CommitOutcome> awaitClaim(CompletableFuture<CommitOutcome> claim, TxnSpec spec) {
        return bounded(claim).flatMap(o -> {
            if (o != YIELDED) {
                return Uni.createFrom().item(o);
            }
            ids.dropUndecided(spec.id(), claim); // else this may run first and meet the yielded claim again, for ever
            return commit(spec);
        });
    }

    /** What a yielding plain transaction's claim is completed with: undecided, so the id is dropped. */
    private static final CommitOutcome YIELDED = new CommitOutcome.Unavailable(
            "a procedure call under this id was being decided; retry with the same id");

    /** The other side's claim of {@code id}'s namespace, in flight or committed; null if none. */
    private CompletableFuture<CommitOutcome> rivalClaim(String id) {
        String call = Attempts.callOf(id);
        if (call != null) {
            CompletableFuture<CommitOutcome> f = ids.get(call);
            return live(f) ? f : null;
        }
        for (int n = 0; n < Attempts.MAX; n++) {
            CompletableFuture<CommitOutcome> f = ids.get(Attempts.id(id, n));
            if (live(f)) {
                return f;
            }
        }
        return null;
    }

    /**
     * A later attempt of the call whose attempt {@code id} is, in flight or committed; null if none. A
     * later attempt claims the earlier ones as aborted before its own id, so an earlier one that could
     * claim its id after that met a claim forgotten from memory (other ids filling it while the later one
     * was being decided): the later one has the call, and this one must not commit it a second time.
     */
    private CompletableFuture<CommitOutcome> laterAttemptClaim(String id) {
        for (String l : Attempts.later(id)) {
            CompletableFuture<CommitOutcome> f = ids.get(l);
            if (live(f)) {
                return f;
            }
        }
        return null;
    }

    /**
     * An attempt that met a later attempt of its call: it is answered as that one is, and commits nothing.
     * Waits go only from an earlier attempt to a later one, so two never wait on each other. Its claim ends
     * aborted if the later one aborted (superseded, as the later one had claimed it); otherwise it is
     * dropped, and the call's commit, or the later attempt's undecided outcome, is the answer. Settled on
     * the futures, not in the client's Uni, for the reason {@link #after} gives.
     */
    private Uni<CommitOutcome> behind(CompletableFuture<CommitOutcome> later, CompletableFuture<CommitOutcome> own) {
        CompletableFuture<CommitOutcome> decided = new CompletableFuture<>();
        later.copy().completeOnTimeout(LATER_NOT_KNOWN, config.groupCommit().timeout().toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((o, e) -> {
                    CommitOutcome answer = o == null ? LATER_NOT_KNOWN : o;
                    own.complete(answer instanceof CommitOutcome.Aborted ? SUPERSEDED : YIELDED);
                    decided.complete(answer instanceof CommitOutcome.Aborted ? SUPERSEDED : answer);
                });
        return Uni.createFrom().completionStage(decided.copy());
    }

    /** An attempt's answer when the later attempt of its call it waited for was not decided in time. */
    private static final CommitOutcome LATER_NOT_KNOWN = new CommitOutcome.Unknown("a later attempt of the call was "
            + "not decided in time: it may still commit; retry under the same id");

    /** In flight, or committed: an abort or an undecided end (its claim dropped) leaves the id free. */
    private static boolean live(CompletableFuture<CommitOutcome> f) {
        return f != null && (!f.isDone() || decided(f) instanceof CommitOutcome.Committed);
    }

    /**
     * A plain transaction that met an attempt of the call under its id: the id is dropped first (an
     * attempt waiting for it goes on at once), then the attempt is waited for. Its commit is this
     * transaction's answer; after an abort the transaction starts over, and finds the call's next attempt,
     * or none, and commits.
     */
    private Uni<CommitOutcome> yieldTo(CompletableFuture<CommitOutcome> attempt, TxnSpec spec,
            CompletableFuture<CommitOutcome> own) {
        own.complete(YIELDED);
        return bounded(attempt).flatMap(o -> o instanceof CommitOutcome.Aborted || o instanceof CommitOutcome.Unavailable
                ? commit(spec) : Uni.createFrom().item(o));
    }

    /**
     * An attempt that met a plain transaction under its call's id, in flight or committed: that one is
     * waited for, this attempt's claim held. Its commit is the call's first outcome, which this attempt
     * then answers with, its own claim dropped, uncommitted; anything else leaves the call free to
     * commit, and this attempt goes on to certification.
     */
    private Uni<CommitOutcome> after(CompletableFuture<CommitOutcome> plain, Running r, TxnSpec spec,
            CompletableFuture<CommitOutcome> own) {
        // The claim held is settled on the futures, not in the client's Uni: a client that goes away
        // cancels its Uni, and a claim settled in a stage of it stayed in flight for ever (every resend
        // of the attempt answered 504, the id never forgotten, nor the ids claimed after it). null: the
        // attempt went on to certification, and its own claim is the answer.
        CompletableFuture<CommitOutcome> decided = new CompletableFuture<>();
        plain.copy().completeOnTimeout(PLAIN_NOT_KNOWN, config.groupCommit().timeout().toMillis(), TimeUnit.MILLISECONDS)
                .whenComplete((o, e) -> {
                    if (o instanceof CommitOutcome.Aborted || o instanceof CommitOutcome.Unavailable) {
                        toCertifier(r, spec, own);
                        decided.complete(null);
                        return;
                    }
                    own.complete(YIELDED); // committed, or not known in time (then the client retries)
                    decided.complete(o == null ? PLAIN_NOT_KNOWN : o);
                });
        return Uni.createFrom().completionStage(decided.copy())
                .flatMap(o -> o == null ? bounded(own) : Uni.createFrom().item(o));
    }

    /** An attempt's answer when the plain transaction it waited for was not decided in time. */
    private static final CommitOutcome PLAIN_NOT_KNOWN = new CommitOutcome.Unknown("a transaction under the call's id "
            + "was not decided in time: it may still commit; retry under the same id");

    /**
     * Waits for an outcome at most the commit timeout: a client never hangs, it gets 503 and retries.
     * On a copy of {@code f}: Mutiny cancels the stage it stops waiting for (on this timeout, or when
     * the client goes away), and {@code f} is the answer the idempotency cache holds for the id, shared
     * with every retry. Cancelled, it made the cache forget the id while the commit went on, and a
     * retry committed a second time.
     */
    private Uni<CommitOutcome> bounded(CompletableFuture<CommitOutcome> f) {
        return Uni.createFrom().completionStage(f.copy())
                .ifNoItem().after(config.groupCommit().timeout())
                .recoverWithItem(NOT_ANSWERED_IN_TIME);
    }

    /**
     * A commit refused before it reached the certifier, counted as {@code presage_commits_total{outcome=
     * "unavailable", reason}}: these 503s (recovering, lease lapsed, the database behind) are the ones an
     * alert must see, and were not counted at all.
     */
    private Uni<CommitOutcome> unavailable(String reason, CommitOutcome o) {
        registry.counter("presage_commits_total", "outcome", "unavailable", "reason", reason).increment();
        return Uni.createFrom().item(o);
    }

    /** {@code presage_commits_total{outcome, reason}} and {@code presage_certification_adjusted_total}. */
    private void count(CommitOutcome o) {
        String outcome;
        String reason = "";
        if (o instanceof CommitOutcome.Committed c) {
            outcome = "committed";
            if (c.adjusted()) {
                registry.counter("presage_certification_adjusted_total").increment();
            }
        } else if (o instanceof CommitOutcome.Aborted a) {
            outcome = "aborted";
            reason = a.reason().name();
        } else if (o instanceof CommitOutcome.Unknown) {
            outcome = "unknown";
        } else {
            outcome = "unavailable";
        }
        registry.counter("presage_commits_total", "outcome", outcome, "reason", reason).increment();
    }

    private static TxnRequest toRequest(TxnSpec spec) {
        String[] rk = new String[spec.reads().size()];
        long[] rv = new long[rk.length];
        for (int i = 0; i < rk.length; i++) {
            rk[i] = spec.reads().get(i).key();
            rv[i] = spec.reads().get(i).version();
        }
        String[] wk = new String[spec.writes().size()];
        for (int i = 0; i < wk.length; i++) {
            wk[i] = spec.writes().get(i).key();
        }
        return new TxnRequest(rk, rv, wk);
    }

    // ---- reads ------------------------------------------------------------------------------

    /** A key's latest committed version (null if never written), and the position it is current at. */
    public record Read(StoredItem item, long position) {
    }

    /**
     * One key, at one position as {@link #readAll} answers many: the store's copy (from the read cache
     * when it holds the key) plus the recent versions up to P = max(visible, the copy's position). Not
     * the newest version in memory with the position {@code acked()}: group commit raises acked
     * before it puts the message's versions, so a read between the two answered a key's value from
     * before that message with a token claiming it (and a batch read right after answered below the
     * token). The applier may have stored a commit whose ack has not reached us yet; P then covers it.
     */
    public Uni<Read> read(String key) {
        ReadCache.Hit hit = cache.get(key);
        if (hit != null) {
            long position = Math.max(recent.visible(), hit.position());
            Read r = new Read(newer(hit.item(), recent.at(key, position)), position);
            if (recent.evictedUpTo() <= hit.position()) { // else versions after the copy may have left memory
                return Uni.createFrom().item(r);
            }
        }
        return readAll(List.of(key)).map(all -> all.get(0));
    }

    /**
     * Several keys at one consistent log position. A look that finds versions after the store's copy
     * gone from memory meanwhile (the applier moved on) is made again at once; one that finds it again
     * waits for the applier. That second case is a store behind what memory has dropped: the database
     * lost commits it had applied (restored from a backup, failed over to a replica that lacked them)
     * and the applier is applying them again. Until it has, the store's copy misses acknowledged
     * commits, so the read waits for it, at most the commit timeout, then gets 503. It used to look
     * again at once, for ever: on the read cache's path that recursed until the stack overflowed (500).
     */
    public Uni<List<Read>> readAll(List<String> keys) {
        List<Read> cached = fromCache(keys);
        if (cached != null) {
            return Uni.createFrom().item(cached); // the usual case, without a stage
        }
        return fromStore(keys).flatMap(out -> out != null ? Uni.createFrom().item(out)
                : readAgain(keys, Duration.ZERO, System.nanoTime() + config.groupCommit().timeout().toNanos()));
    }

    /** {@link #readAll} once more after {@code pause}, and then every {@link #STORE_CATCH_UP_POLL} until the deadline. */
    private Uni<List<Read>> readAgain(List<String> keys, Duration pause, long deadlineNanos) {
        if (System.nanoTime() - deadlineNanos > 0) {
            return Uni.createFrom().failure(ApiException.unavailable(String.format(java.util.Locale.ROOT,
                    "this coordinator's database is behind the commits it has applied before (at log sequence %d, "
                            + "not %d: restored or failed over?) and is applying the log again; retry",
                    cache.position(), recent.evictedUpTo())));
        }
        Uni<Void> waited = pause.isZero() ? Uni.createFrom().voidItem() : Uni.createFrom().voidItem().onItem().delayIt().by(pause);
        return waited.flatMap(v -> readAllOnce(keys))
                .flatMap(out -> out != null ? Uni.createFrom().item(out) : readAgain(keys, STORE_CATCH_UP_POLL, deadlineNanos));
    }

    private static final Duration STORE_CATCH_UP_POLL = Duration.ofMillis(10);

    /** The keys at one position, or null (the item) if versions after the store's copy left memory meanwhile. */
    private Uni<List<Read>> readAllOnce(List<String> keys) {
        List<Read> cached = fromCache(keys);
        return cached != null ? Uni.createFrom().item(cached) : fromStore(keys);
    }

    /** The keys at the store's position (filling the cache), or null (the item) as {@link #atOnePosition} says. */
    private Uni<List<Read>> fromStore(List<String> keys) {
        return store.getAll(keys).map(snapshot -> {
            Map<String, StoredItem> stored = new HashMap<>();
            for (StoredItem i : snapshot.items()) {
                stored.put(i.key(), i);
            }
            for (String k : keys) {
                cache.fill(k, stored.get(k), snapshot.appliedSequence());
            }
            return atOnePosition(keys, stored, snapshot.appliedSequence());
        });
    }

    /** The keys at one position from the read cache; null if it lacks one, or memory lacks versions after it. */
    private List<Read> fromCache(List<String> keys) {
        ReadCache.Hits hits = cache.getAll(keys);
        if (hits == null) {
            return null;
        }
        Map<String, StoredItem> stored = new HashMap<>();
        for (int i = 0; i < keys.size(); i++) {
            if (hits.items()[i] != null) {
                stored.put(keys.get(i), hits.items()[i]);
            }
        }
        return atOnePosition(keys, stored, hits.position());
    }

    /**
     * The keys at one position P ≥ the store's {@code storedAt}: the store's state plus the recent
     * versions up to P; null if versions in (storedAt, P] may have left memory meanwhile (read again).
     */
    private List<Read> atOnePosition(List<String> keys, Map<String, StoredItem> stored, long storedAt) {
        long position = Math.max(recent.visible(), storedAt);
        List<Read> out = new ArrayList<>(keys.size());
        for (String k : keys) {
            out.add(new Read(newer(stored.get(k), recent.at(k, position)), position));
        }
        return recent.evictedUpTo() > storedAt ? null : out;
    }

    private static StoredItem newer(StoredItem stored, RecentWrites.Version v) {
        if (v == null || (stored != null && stored.version() >= v.version())) {
            return stored;
        }
        return new StoredItem(v.key(), v.valueJson(), v.version(), v.vclock(), v.sequence());
    }

    /** The position a read made now answers at (at least): every commit acknowledged up to it is visible. */
    public long readPosition() {
        return recent.visible();
    }

    public long lastAcked() {
        return recent.acked();
    }

    /**
     * Completes when reads see a position past {@code position}, or after {@code max} if they do not
     * (the commits that were in flight may have failed instead; then there is nothing to wait for).
     */
    public Uni<Void> awaitReadsPast(long position, Duration max) {
        CompletableFuture<Void> f = recent.awaitVisible(position + 1);
        if (f.isDone()) {
            return Uni.createFrom().voidItem();
        }
        // A dependent, so that Mutiny cancelling its stage on timeout leaves the waiter's own future alone.
        return Uni.createFrom().completionStage(f.thenApply(v -> (Void) null))
                .ifNoItem().after(max).recoverWithItem(() -> {
                    recent.cancelAwait(position + 1, f);
                    return null;
                });
    }

    /** The read cache's size and counters, for {@code /v1/status}. */
    public Map<String, Object> readCacheStats() {
        return cache == null ? Map.of() : cache.stats();
    }

    public int recentWrites() {
        return recent.size();
    }

    public Certifier certifier() {
        Running r = running;
        return r == null ? null : r.certifier();
    }

    /**
     * Hibernate Reactive runs on a Vert.x context; the recovery thread is not one. The wait is bounded
     * like the id lookups' ({@link #STORE_QUERY_TIMEOUT}): a query that never ends (PostgreSQL frozen
     * mid-query) would otherwise hold recovery, and the 503s it causes, with no word of why; failed,
     * recovery says so in its state and starts again.
     */
    private static <T> T awaitStore(java.util.function.Supplier<Uni<T>> u) throws Exception {
        try {
            return io.quarkus.vertx.VertxContextSupport.subscribeAndAwait(() -> u.get().ifNoItem()
                    .after(STORE_QUERY_TIMEOUT).failWith(() -> new java.util.concurrent.TimeoutException(
                            "the database did not answer within " + STORE_QUERY_TIMEOUT.toSeconds() + " s")));
        } catch (Exception e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
