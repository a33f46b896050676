package io.presage.mirror;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.presage.config.Limits;
import io.presage.api.RequestParser;
import io.presage.apply.Applier;
import io.presage.apply.ApplyHook;
import io.presage.apply.CacheLoader;
import io.presage.apply.ItemStore;
import io.presage.apply.ReadCache;
import io.presage.apply.StoredItem;
import io.presage.config.HeapShare;
import io.presage.config.PresageConfig;
import io.presage.log.JetStreamLog;
import io.presage.log.PositionWaiters;
import io.presage.node.LogConnection;
import io.presage.predict.PredictionScore;
import io.presage.predict.SessionTrail;
import io.presage.predict.Successors;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.vertx.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;

/**
 * The mirror's state around the shared applier: its {@link ApplyHook} (pre-apply buffer, validation,
 * read cache, learned write rates, calibration, causal waiters), the replication lag and the client to
 * the coordinator. Inert unless {@code presage.role=mirror}.
 */
@ApplicationScoped
public class MirrorNode implements ApplyHook {
    private static final Logger LOG = Logger.getLogger(MirrorNode.class);
    private static final long REFRESH_MILLIS = 500;
    private static final long PROBE_MILLIS = 2_000;

    @Inject
    PresageConfig config;
    @Inject
    Applier applier;
    @Inject
    ItemStore store;
    @Inject
    LogConnection logs;
    @Inject
    MeterRegistry registry;
    @Inject
    ObjectMapper json;
    @Inject
    Limits limits;
    @Inject
    Pool pool;
    @Inject
    Vertx vertx;

    private volatile boolean active;
    private ReadCache cache;
    private final PendingKeys pending = new PendingKeys();
    private final Staleness staleness = new Staleness();
    private final LogKnowledge knowledge = new LogKnowledge(pending, staleness);
    private final SpeculativeWrites speculative = new SpeculativeWrites();
    private final AtomicLong skipped = new AtomicLong();
    private WriteRates rates;
    /** The applier has found the log drained since this node started (set by the applier thread). */
    private volatile boolean drainedSinceStart;
    private Calibration calibration;
    private PositionWaiters waiters;
    private CoordinatorClient coordinator;
    private ReconcileBatcher reconciler;
    private MirrorSpeculations speculations;
    private Confirmations confirmations;
    private Prefetcher prefetcher;
    /** Round trip of the reconciliations, moving average in ms; NaN before the first. */
    private volatile double reconcileRttMillis = Double.NaN;
    private ScheduledExecutorService refresher;
    private BufferedWriter calibrationLog;
    private Counter[][] sampleCounters;

    // lag, refreshed in the background
    private volatile long streamLast;
    private volatile long oldestUnappliedSeq;
    private volatile long oldestUnappliedMillis;
    private volatile boolean logReadable;
    private volatile long lastProbeMillis;

    void onStart(@Observes StartupEvent ev) {
        if (!"mirror".equals(config.role())) {
            return;
        }
        PresageConfig.Mirror m = config.mirror();
        cache = new ReadCache(config.apply().cacheKeys(), HeapShare.orQuarterOfHeap(config.apply().cacheBytes()));
        rates = new WriteRates(m.rateHalfLife().toMillis(), config.apply().cacheKeys());
        waiters = new PositionWaiters(cache::position);
        coordinator = new CoordinatorClient(vertx, m.coordinatorUrl(), m.forwardTimeout(), json);
        confirmations = new Confirmations(config.apply().cacheKeys());
        // A reader waits for a reconciliation at most twice the forward timeout in all (the POST ahead
        // of it, then its own); 10,000 waiting are tens of thousands of reads a second behind a
        // coordinator that stopped answering.
        reconciler = new ReconcileBatcher(this::askCoordinator, limits.batchKeys(), 2 * m.forwardTimeout().toMillis(), 10_000);
        prefetcher = m.prediction().enabled() ? newPrefetcher(m.prediction()) : null;
        speculations = new MirrorSpeculations(config.nodeId(), m.speculationMaxPending(),
                HeapShare.orQuarterOfHeap(m.speculationMaxPendingBytes()), m.speculationRetention().toMillis(),
                m.speculationTurnWait(),
                coordinator, reconciler, new AppliedHere(waiters, applier, pool)::applied, new SpeculationStore(pool), json,
                registry);
        speculations.recover(new RequestParser(json, limits), config.nodeId());
        sampleCounters = new Counter[10][2];
        for (int d = 0; d < 10; d++) {
            for (int c = 0; c < 2; c++) {
                sampleCounters[d][c] = Counter.builder("presage_confidence_samples_total")
                        .description("sampled local reads checked against the log, by confidence decile and outcome")
                        .tag("bucket", String.format(java.util.Locale.ROOT, "%.1f", d / 10.0))
                        .tag("current", Boolean.toString(c == 1)).register(registry);
            }
        }
        calibrationLog = openCalibrationLog(m);
        calibration = new Calibration(m.calibrationSampleRate(), m.calibrationMargin().toMillis(), this::resolved);
        Gauge.builder("presage_confidence_calibration_error", calibration, Calibration::error)
                .description("gap between the confidence given and the share of sampled reads found current, over the reads "
                        + "checked since start (0 is perfect)")
                .register(registry);
        if (prefetcher != null) {
            FunctionCounter.builder("presage_prediction_hits_total", prefetcher.score(), PredictionScore::hits)
                    .description("session reads of a key predicted after the session's previous read").register(registry);
            FunctionCounter.builder("presage_prediction_predicted_total", prefetcher.score(), PredictionScore::predicted)
                    .description("keys predicted to be a session's next read").register(registry);
            FunctionCounter.builder("presage_prediction_prefetched_total", prefetcher, Prefetcher::prefetched)
                    .description("keys reconciled with the coordinator ahead of a predicted read").register(registry);
        }
        registry.gauge("presage_replication_lag_seconds", this, MirrorNode::lagSeconds);
        registry.gauge("presage_replication_lag_sequences", this, MirrorNode::lagSequences);
        registry.gauge("presage_read_cache_keys", cache, ReadCache::size);
        registry.gauge("presage_read_cache_bytes", cache, ReadCache::bytes);
        applier.setHook(this); // before the applier starts: this observer runs before its (priority MAX)
        refresher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "presage-mirror-lag");
            t.setDaemon(true);
            return t;
        });
        refresher.scheduleWithFixedDelay(this::refresh, 0, REFRESH_MILLIS, TimeUnit.MILLISECONDS);
        active = true;
        LOG.infof("mirror %s: following the log, coordinator at %s", config.nodeId(), m.coordinatorUrl());
    }

    void onStop(@Observes ShutdownEvent ev) {
        if (!active) {
            return;
        }
        refresher.shutdownNow();
        speculations.stop();
        coordinator.close();
        if (calibrationLog != null) {
            try {
                calibrationLog.close();
            } catch (IOException ignored) {
                // nothing to do at shutdown
            }
        }
    }

    public boolean active() {
        return active;
    }

    // ---- the apply hook (applier thread) ----------------------------------------------------

    @Override
    public void starting(long appliedSequence) {
        CacheLoader.loadIfMoved(cache, store, appliedSequence);
        knowledge.restarted(appliedSequence);
        waiters.advanced(cache.position());
    }

    @Override
    public void received(long sequence, long timestampMillis, List<AppliedWrite> writes) {
        knowledge.received(sequence, timestampMillis, writes);
    }

    @Override
    public boolean validate(AppliedWrite w) {
        VersionValidation.Local spec = speculative.get(w.key());
        if (spec != null) {
            switch (VersionValidation.decide(spec, w.version(), w.vclock())) {
                case APPLY -> speculative.confirmed(w.key());
                case APPLY_AND_ROLL_BACK_LOCAL -> speculative.overruled(w.key(), w.version(), w.sequence());
                case SKIP -> {
                    // a committed version older than our own write: the store takes it, the speculation stays
                }
            }
        }
        StoredItem local = cache.peek(w.key());
        if (local != null && VersionValidation.decide(new VersionValidation.Local(local.version(), local.vclock(), false),
                w.version(), w.vclock()) == VersionValidation.Verdict.SKIP) {
            skipped.incrementAndGet();
            return false;
        }
        return true;
    }

    @Override
    public void applied(long sequence, long lastTimestampMillis, Map<String, StoredItem> items, List<AppliedWrite> writes) {
        long now = System.currentTimeMillis();
        cache.applied(sequence, items);
        // Only after the cache moved: a reader that no longer finds the key pending reads at or past it.
        for (AppliedWrite w : writes) {
            pending.applied(w.key(), sequence);
            rates.written(w.key(), w.timestampMillis());
        }
        long firstTimestampMillis = writes.isEmpty() ? lastTimestampMillis : writes.get(0).timestampMillis();
        staleness.applied(firstTimestampMillis, lastTimestampMillis, now);
        calibration.applied(writes, lastTimestampMillis);
        waiters.advanced(sequence);
    }

    @Override
    public void drained(long nowMillis) {
        drainedSinceStart = true;
        staleness.drained(nowMillis);
        calibration.drained(nowMillis);
    }

    // ---- what reads need --------------------------------------------------------------------

    public ReadCache cache() {
        return cache;
    }

    public PositionWaiters waiters() {
        return waiters;
    }

    public CoordinatorClient coordinator() {
        return coordinator;
    }

    MirrorSpeculations speculations() {
        return speculations;
    }

    public ReconcileBatcher reconciler() {
        return reconciler;
    }

    public Calibration calibration() {
        return calibration;
    }

    public SpeculativeWrites speculative() {
        return speculative;
    }

    private Prefetcher newPrefetcher(PresageConfig.Prediction p) {
        // Evidence 2.5: three transitions seen lately (three decay to 2.5 in a quarter of a half-life), not one or two.
        Successors model = new Successors(p.halfLife().toMillis(), 4, p.maxKeys(), 2.5);
        SessionTrail sessions = new SessionTrail(p.sessionGap().toMillis(), p.maxKeys());
        PredictionScore score = new PredictionScore(p.sessionGap().toMillis(), p.maxKeys());
        Prefetcher.Mirror gate = new Prefetcher.Mirror() {
            @Override
            public double staleMillis(long nowMillis) {
                return staleSeconds(nowMillis) * 1000;
            }

            @Override
            public double reconcileRttMillis() {
                return reconcileRttMillis;
            }
        };
        return new Prefetcher(model, sessions, score, gate, this::confidenceInMemory, reconciler::reconcile,
                p.minProbability(), p.belowConfidence());
    }

    /**
     * One {@code POST /v1/reconcile} for the batcher: its answer confirms the keys' versions as of the
     * moment it was sent ({@link Confirmations}), and its round trip is what prefetching is weighed against.
     */
    private java.util.concurrent.CompletableFuture<ReconcileBatcher.Reconciled> askCoordinator(List<String> keys) {
        long sentMillis = System.currentTimeMillis();
        long sentNanos = System.nanoTime();
        return coordinator.reconcile(keys).whenComplete((r, e) -> {
            if (r != null) {
                confirmations.confirmed(keys, r.items(), sentMillis);
                reconcileRttMillis = Prefetcher.movingAverage(reconcileRttMillis, (System.nanoTime() - sentNanos) / 1e6, 0.1);
            }
        });
    }

    /** A read of {@code key} in {@code session} has arrived: the prediction engine learns from it (when on). */
    public void sessionRead(String session, String key, long nowMillis) {
        if (prefetcher != null) {
            prefetcher.read(session, key, nowMillis);
        }
    }

    /**
     * The prefetch of {@code key} under way (completes when its answer is in), if waiting for it can
     * lift the read to {@code minConfidence}: its confirmation will be at least as old as its send time,
     * and a round trip. Else null, and the read asks the coordinator itself without waiting.
     */
    public java.util.concurrent.CompletableFuture<?> prefetchWorthWaitingFor(String key, double minConfidence, long nowMillis) {
        Prefetcher.UnderWay u = prefetcher == null ? null : prefetcher.underWay(key);
        if (u == null) {
            return null;
        }
        double rtt = reconcileRttMillis;
        double ageMillis = Math.max(nowMillis - u.sentMillis(), Double.isNaN(rtt) ? 0 : rtt);
        return Confidence.of(false, rates.rateKnown(key, nowMillis, staleSeconds(nowMillis)), ageMillis / 1000) >= minConfidence
                ? u.answer() : null;
    }

    /** Confidence of the key's copy in memory now; 0 when it is not there (its version is not known without a store read). */
    private double confidenceInMemory(String key, long nowMillis) {
        LogKnowledge.Look look = look(key, nowMillis);
        long position = cache.position();
        StoredItem local = cache.peek(key);
        return local == null ? 0 : confidence(key, local.version(), look, position, nowMillis);
    }

    /** What a read of {@code key} knows of the log (S, then its pending sequence); take it before reading the data. */
    public LogKnowledge.Look look(String key, long nowMillis) {
        return knowledge.look(key, nowMillis, logs.connected(), lagSeconds(nowMillis));
    }

    /** The same for a batch's keys, with one S. */
    public LogKnowledge.Look[] look(List<String> keys, long nowMillis) {
        return knowledge.look(keys, nowMillis, logs.connected(), lagSeconds(nowMillis));
    }

    /**
     * Confidence that {@code key}'s answer ({@code version}, at {@code position}) is the primary's current
     * version: 0 with an update received after that position or a newer version seen by a reconciliation
     * (only confirmations counted before: the copies a reconciliation showed stale kept their old
     * confidence, and the 0.8 decile held little but stale reads), else exp(−λ·S), S the larger of the
     * follower's staleness and the replication lag last measured against the stream, or the time since
     * a reconciliation confirmed this version if that is shorter.
     */
    public double confidence(String key, long version, LogKnowledge.Look look, long position, long nowMillis) {
        if (look.pendingSequence() > position || confirmations.knownNewer(key, version) || ratesUnknownWhileBehind()
                || logIncomplete()) {
            return 0.0;
        }
        double logS = look.staleSecondsAt(nowMillis); // λ is the rate known where this knowledge of the log ends
        return Confidence.of(false, rates.rateKnown(key, nowMillis, logS), staleSeconds(key, version, nowMillis, logS));
    }

    /**
     * Right after a restart the learned write rates are gone, and until the applier has applied a write
     * or found the log drained, all the mirror has is the prior (one write per τ): a mirror restarted
     * 72 s behind keys written three times a second answered them with confidence 0.43, all stale (a
     * black-box probe). Nothing is known of the rates then but that the log may hold writes not seen,
     * so no copy is taken for current; this lasts until the first page is applied.
     */
    /**
     * Whether this mirror's copy cannot be matched with the log: a log message it could not decode is
     * parked (a dead letter: the applier went on past it, but its writes are missing here, and which
     * keys they were is not known), or the log stream ends before what it applied (made again or
     * purged: what is appended now at sequences it has passed is never applied), or the stream is
     * another than the one it applied from (made again, whatever its length: nothing is applied from it), or the
     * stream no longer holds the next message to apply (its start cut past this mirror's position: nothing more
     * is applied). Any copy may be stale, so none is taken for current, and an {@code after} token cannot be
     * honoured from here (see MirrorApi), until an operator has dealt with it.
     */
    public boolean logIncomplete() {
        return applier.deadLetters() > 0 || applier.streamEndBehindStore() >= 0 || applier.logReplaced()
                || applier.missingFromLog() != 0;
    }

    private boolean ratesUnknownWhileBehind() {
        return !drainedSinceStart && !rates.learnedAny();
    }

    /** S for one key's copy at {@code version}: the log's ({@code logS}), or the time since it was confirmed, if shorter. */
    private double staleSeconds(String key, long version, long nowMillis, double logS) {
        long confirmed = confirmations.confirmedAt(key, version);
        return confirmed == 0 ? logS : Math.min(logS, Math.max(0, nowMillis - confirmed) / 1000.0);
    }

    /** S: the follower's view and, where the lag refresh has seen the stream further on, the lag. */
    private double staleSeconds(long nowMillis) {
        return Math.max(staleness.seconds(nowMillis, logs.connected()), lagSeconds(nowMillis));
    }

    /** A local read was answered with {@code confidence}: maybe sample it for calibration, with the model's inputs. */
    public void sampleRead(String key, long version, double confidence, LogKnowledge.Look known, long nowMillis) {
        if (calibration.sampled()) {
            double logS = known.staleSecondsAt(nowMillis); // the S the confidence was computed with
            calibration.add(new Calibration.Sample(key, version, confidence, nowMillis, rates.rateKnown(key, nowMillis, logS),
                    staleSeconds(key, version, nowMillis, logS)));
        }
    }

    // ---- lag --------------------------------------------------------------------------------

    public long lagSequences() {
        return Math.max(0, streamLast - applier.appliedSequence());
    }

    /** Now − commit time of the oldest message not applied yet; 0 when everything known is applied. */
    public double lagSeconds() {
        return lagSeconds(System.currentTimeMillis());
    }

    private double lagSeconds(long nowMillis) {
        return lagSeconds(streamLast, applier.appliedSequence(), oldestUnappliedMillis, staleness.lastCommitMillis(), nowMillis);
    }

    /**
     * The lag from the last refresh's view of the stream ({@code streamLast}, and the commit time of what
     * was then the oldest unapplied message) and the last applied message's commit time. Both times are
     * at or before the commit of the oldest message unapplied now, so the later of them bounds the lag
     * from above without ever hiding it. Right after a start, the refresh may have looked before the
     * applier read its position (it then took message 1's time): that is old, not "no lag".
     */
    static double lagSeconds(long streamLast, long applied, long oldestUnappliedMillis, long lastAppliedCommitMillis,
                             long nowMillis) {
        if (streamLast <= applied) {
            return 0;
        }
        long since = Math.max(oldestUnappliedMillis, lastAppliedCommitMillis);
        return since == 0 ? 0 : Math.max(0, (nowMillis - since) / 1000.0);
    }

    private void refresh() {
        try {
            JetStreamLog log = logs.get();
            JetStreamLog.End end = log.end();
            long last = end.lastSequence();
            long applied = applier.appliedSequence();
            streamLast = last;
            // The oldest unapplied message, or when the stream's start was cut past it (see
            // Applier#missingFromLog) the first one it still holds: the lost one was committed before that,
            // so the lag counted from there is less than the real one but no longer "none" (it was 0: the
            // look at a message the stream no longer holds failed, every time).
            long oldest = Math.max(applied + 1, end.firstSequence());
            if (last > applied && oldest <= last && oldestUnappliedSeq != applied + 1) {
                oldestUnappliedMillis = log.messageTimestampMillis(oldest);
                oldestUnappliedSeq = applied + 1;
            }
            logReadable = true;
        } catch (RuntimeException e) {
            logReadable = false;
        }
        long now = System.currentTimeMillis();
        speculations.forgetOld(now);
        speculations.resumeWaiting();
        if (now - lastProbeMillis >= PROBE_MILLIS && now - coordinator.lastAnswerMillis() >= PROBE_MILLIS) {
            lastProbeMillis = now;
            coordinator.probe();
        }
    }

    /** The part of {@code /v1/status} only a mirror has. */
    public Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> lag = new LinkedHashMap<>();
        lag.put("sequences", applier.started() ? lagSequences() : null); // as appliedSequence: not known yet
        lag.put("seconds", lagSeconds());
        lag.put("streamLastSequence", streamLast);
        lag.put("logReadable", logReadable);
        m.put("lag", lag);
        Map<String, Object> coord = new LinkedHashMap<>();
        coord.put("url", coordinator.url());
        coord.put("reachable", coordinator.reachable());
        m.put("coordinator", coord);
        m.put("cache", cache.stats());
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("pendingKeys", pending.size());
        v.put("skipped", skipped.get());
        v.put("speculativeWrites", speculative.size());
        v.put("rolledBack", speculative.rolledBack());
        m.put("validation", v);
        m.put("stalenessSeconds", staleness.seconds(System.currentTimeMillis(), logs.connected()));
        m.put("propagationMillis", staleness.propagationMillis());
        m.put("calibration", calibration.table());
        m.put("calibrationOpenSamples", calibration.open());
        double error = calibration.error();
        m.put("calibrationError", Double.isNaN(error) ? null : error);
        m.put("causalWaiters", waiters.size());
        m.put("reconcilePosts", reconciler.posts());
        m.put("speculations", speculations.status());
        m.put("prediction", predictionStatus());
        return m;
    }

    private Map<String, Object> predictionStatus() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("enabled", prefetcher != null);
        p.put("confirmedKeys", confirmations.size());
        double rtt = reconcileRttMillis;
        p.put("reconcileRttMillis", Double.isNaN(rtt) ? null : rtt);
        if (prefetcher != null) {
            PredictionScore l = prefetcher.score();
            p.put("sessions", prefetcher.sessions().sessions());
            p.put("modelKeys", prefetcher.model().keys());
            p.put("followingReads", l.followingReads());
            p.put("predictedKeys", l.predicted());
            p.put("decidedKeys", l.decided());
            p.put("hits", l.hits());
            p.put("prefetchRequests", prefetcher.requests());
            p.put("prefetchedKeys", prefetcher.prefetched());
            p.put("skippedHealthy", prefetcher.skippedHealthy());
            double gap = prefetcher.sessionGapMillis();
            p.put("sessionGapMillis", Double.isNaN(gap) ? null : gap);
            double precision = l.precision();
            double recall = l.recall();
            p.put("precision", Double.isNaN(precision) ? null : precision);
            p.put("recall", Double.isNaN(recall) ? null : recall);
        }
        return p;
    }

    // ---- calibration output -----------------------------------------------------------------

    private void resolved(Calibration.Sample s, boolean current, int decile) {
        sampleCounters[decile][current ? 1 : 0].increment();
        if (calibrationLog != null) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put("key", s.key());
            line.put("version", s.version());
            line.put("confidence", s.confidence());
            line.put("readMillis", s.readMillis());
            line.put("current", current);
            if (!Double.isNaN(s.writesPerSecond())) {
                line.put("writesPerSecond", s.writesPerSecond());
                line.put("staleSeconds", s.staleSeconds());
            }
            try {
                calibrationLog.write(json.writeValueAsString(line));
                calibrationLog.newLine();
                calibrationLog.flush();
            } catch (IOException e) {
                LOG.warnf("calibration log: %s; no more lines will be written", e.getMessage());
                calibrationLog = null;
            }
        }
    }

    private static BufferedWriter openCalibrationLog(PresageConfig.Mirror m) {
        if (m.calibrationLog().isEmpty() || m.calibrationLog().get().isBlank()) {
            return null;
        }
        try {
            Path p = Path.of(m.calibrationLog().get());
            if (p.getParent() != null) {
                Files.createDirectories(p.getParent());
            }
            return Files.newBufferedWriter(p, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            LOG.warnf("calibration log %s cannot be opened: %s", m.calibrationLog().get(), e.getMessage());
            return null;
        }
    }
}
