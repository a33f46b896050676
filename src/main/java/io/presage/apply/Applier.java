package io.presage.apply;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

import jakarta.annotation.Priority;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.hibernate.reactive.mutiny.Mutiny;
import org.jboss.logging.Logger;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.presage.config.PresageConfig;
import io.presage.log.ApplicableBatch;
import io.presage.log.BatchCodec;
import io.presage.log.JetStreamLog;
import io.presage.log.LogBatch;
import io.presage.log.LogDecodeException;
import io.presage.log.LogFollower;
import io.presage.log.LogMessage;
import io.presage.log.LogTxn;
import io.presage.log.LogUnavailableException;
import io.presage.log.LogWrite;
import io.presage.node.LogConnection;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.quarkus.vertx.VertxContextSupport;
import io.smallrye.mutiny.Uni;

/**
 * The applier (DESIGN §5), the same on every node: a durable JetStream consumer → PostgreSQL.
 *
 * <h2>Invariants</h2>
 * <ul>
 * <li>Log order: messages are applied in stream-sequence order, and a gap (the consumer ahead of
 *     the database, e.g. after the database was restored) is filled by reading the log by sequence.</li>
 * <li>Atomic, durable, idempotent: one database transaction writes a chunk of messages' items and
 *     the last applied sequence together. A message at or below that sequence is skipped, so a
 *     redelivery after a crash changes nothing; the consumer's ack comes only after the commit.</li>
 * <li>Atomic visibility: a transaction's writes are in one message, and a message is never split
 *     across database transactions, so a reader never sees half a transaction.</li>
 * <li>Monotonic items: an upsert only replaces an older version, so even a replay of an older
 *     message cannot move a key backwards.</li>
 * <li>Nothing silently skipped: an undecodable message is published to the dead-letter subject,
 *     recorded in {@code dead_letters} in the same transaction that moves past it, counted, and
 *     reported by health.</li>
 * </ul>
 */
@ApplicationScoped
public class Applier implements ApplyProgress {
    private static final Logger LOG = Logger.getLogger(Applier.class);
    static final long DEAD_LETTER_RECOUNT_NANOS = TimeUnit.SECONDS.toNanos(2);
    /** How often an applier stopped at a message the stream no longer holds looks again (a restored stream). */
    private static final long MISSING_RETRY_MILLIS = 5_000;

    /** The stream no longer holds message {@code missing}, which this node has not applied: see {@link #missingFromLog}. */
    static final class MissingMessage extends IllegalStateException {
        final long missing;
        final long nextHeld;

        MissingMessage(long missing, long nextHeld) {
            super("log message " + missing + " is missing from the stream (the next it holds is " + nextHeld
                    + "); the applier stops rather than skip it");
            this.missing = missing;
            this.nextHeld = nextHeld;
        }
    }

    /**
     * The database's {@code last_seq} was below the first message of the chunk about to be applied, less one:
     * the database lost commits this applier made (restored from a backup, or failed over to a replica that
     * had not received them) while the node ran. The chunk is not applied over the hole; the loop reads the
     * position again and applies the log from there.
     */
    static final class StoreBehind extends IllegalStateException {
        StoreBehind(long applied, long first) {
            super("the database's applied position is behind this applier's (" + applied + ") at log message " + first
                    + ": it lost commits while the node ran (restored, or failed over to a replica that had not "
                    + "received them); applying the log again from the database's position");
        }
    }

    @Inject
    Mutiny.SessionFactory sessions;
    @Inject
    ItemStore store;
    @Inject
    LogConnection logs;
    @Inject
    PresageConfig config;
    @Inject
    MeterRegistry registry;

    private final BatchCodec codec = new BatchCodec();
    private final List<LongConsumer> listeners = new CopyOnWriteArrayList<>();
    private final AtomicLong deadLetters = new AtomicLong();
    /** When the applier thread last counted {@code dead_letters} (nanoTime); only that thread uses it. */
    private long deadLettersCountedAt;
    private volatile long applied;
    private volatile long lastMessageMillis;
    private volatile boolean caughtUp;
    private volatile String lastError;
    private volatile boolean started;
    private volatile boolean stopping;
    /** The stream's last sequence when an empty pull found it below {@link #applied}; -1 otherwise. */
    private volatile long streamEndBehindStore = -1;
    /** The identity of the log stream this node's data was applied from (0: not known yet); see JetStreamLog.End. */
    private volatile long appliedLog;
    /** The identity of the stream now under the log's name when it is not {@link #appliedLog}, else 0. */
    private volatile long replacedBy;
    /** The message this node needs next that the stream no longer holds, 0 when none: see {@link #missingFromLog}. */
    private volatile long missingFromLog;
    /** With {@link #missingFromLog}: the first message the stream holds after it. */
    private volatile long logResumesAt;
    private Thread thread;
    private Timer applyTimer;
    private Counter deadLetterCounter;
    /** The role's additions to the apply path (the mirror's); null at the coordinator. */
    private volatile ApplyHook hook;
    /** Whether this process has looked for parked messages it can decode ({@link #reapplyParked}); applier thread only. */
    private boolean parkedLookedAt;
    /**
     * Sequences of parked messages that are being applied again since this process started (see
     * {@link #reapplyParked}) and have not been passed yet; applier thread only.
     */
    private final java.util.NavigableSet<Long> reapplying = new java.util.TreeSet<>();

    void onStart(@Observes @Priority(Integer.MAX_VALUE) StartupEvent ev) {
        applyTimer = Timer.builder("presage_apply_batch_seconds").description("one database transaction of the applier")
                .publishPercentiles(0.5, 0.99).register(registry);
        deadLetterCounter = Counter.builder("presage_dead_letters_total")
                .description("log messages that could not be decoded and were parked").register(registry);
        registry.gauge("presage_applied_sequence", this, a -> a.applied);
        registry.gauge("presage_apply_lag_seconds", this, Applier::lagSeconds);
        registry.gauge("presage_log_behind_store", this, a -> a.streamEndBehindStore >= 0 || a.replacedBy != 0 ? 1 : 0);
        registry.gauge("presage_log_missing_sequence", this, a -> a.missingFromLog);
        thread = new Thread(this::run, "presage-applier");
        thread.setDaemon(true);
        thread.start();
    }

    void onStop(@Observes ShutdownEvent ev) {
        stopping = true;
        if (thread != null) {
            thread.interrupt();
        }
    }

    /**
     * Installs the role's hook. Must happen before the applier starts (a StartupEvent observer with a
     * default priority runs before this bean's), so that the hook sees every chunk from the first.
     */
    public void setHook(ApplyHook hook) {
        if (thread != null) {
            throw new IllegalStateException("the applier has started; install the hook before");
        }
        this.hook = hook;
    }

    @Override
    public long appliedSequence() {
        return applied;
    }

    @Override
    public void onApplied(LongConsumer listener) {
        listeners.add(listener);
    }

    @Override
    public long deadLetters() {
        return deadLetters.get();
    }

    /** True once the applier has read its position from the database. */
    public boolean started() {
        return started;
    }

    public String lastError() {
        return lastError;
    }

    /**
     * The stream's last sequence if the log was last seen ending before what this node has applied
     * (the stream deleted and made again, or purged), else -1. Nothing this node holds can then be
     * matched with the log: later messages numbered at or below the applied sequence would be taken for
     * replays and never applied. Nothing repairs this by itself; readiness is down until the stream
     * reaches the applied sequence again (a restored stream) or the node's database is rebuilt.
     */
    public long streamEndBehindStore() {
        return streamEndBehindStore;
    }

    /**
     * Whether the log stream under the log's name is another than the one this node's data was applied
     * from: deleted and made again (a wiped NATS, a stream deleted by hand), whatever its length. Its
     * sequences number other commits, so nothing is applied from it: this node's data would be the old
     * log's up to its position and the new one's after it, and the new one's first messages never
     * applied. Nothing repairs this by itself: the same stream restored from a backup (it keeps its
     * identity) lets the applier go on; otherwise the node's database has to be rebuilt from the new log.
     */
    public boolean logReplaced() {
        return replacedBy != 0;
    }

    /**
     * The next message this node has to apply when the stream no longer holds it, else 0: the stream's
     * start was cut past this node's position (purged, or aged out by a {@code max_age} or
     * {@code max_bytes} limit on the stream), or that message was deleted. The applier stops there
     * rather than skip its writes, and looks again every few seconds (a stream restored from a backup
     * holds it again). A node in this state cannot catch up from the log: its database has to be
     * replaced by a copy of another node's (README: A mirror after the log was cut).
     */
    public long missingFromLog() {
        return missingFromLog;
    }

    /** With {@link #missingFromLog}: the first message the stream holds after the missing one. */
    public long logResumesAt() {
        return logResumesAt;
    }

    /** The identity of the log stream this node's data was applied from (0: not known yet). */
    public long appliedLog() {
        return appliedLog;
    }

    /**
     * While behind: the age of the last applied message or, if later, of the first one received since the
     * log was drained. The oldest message not applied yet came at or after it, so this is the lag or a little
     * more, never less. 0 when caught up.
     */
    public double lagSeconds() {
        if (caughtUp || lastMessageMillis == 0) {
            return 0;
        }
        return Math.max(0, (System.currentTimeMillis() - lastMessageMillis) / 1000.0);
    }

    // ---- the loop ---------------------------------------------------------------------------

    private void run() {
        LogFollower follower = null;
        while (!stopping) {
            try {
                if (follower == null) {
                    if (!parkedLookedAt) {
                        reapplyParked();
                        parkedLookedAt = true;
                    }
                    applied = await(() -> store.appliedSequence());
                    appliedLog = await(() -> store.appliedLog());
                    if (appliedLog != 0) {
                        // Before the look at the stream below, which may wait for NATS while the node serves.
                        io.presage.coord.Tokens.streamsIfUnknown(appliedLog);
                    }
                    countDeadLetters(System.nanoTime());
                    started = true;
                    if (hook != null) {
                        hook.starting(applied);
                    }
                    awaitSameStream();
                    follower = logs.get().follower("apply-" + config.nodeId(), applied + 1);
                    // The stream may have been replaced between the look and the bind, and the follower
                    // then made on the new one: looked at again, now that a later replacement would take
                    // the follower's consumer with it (and fail the next pull).
                    requireSameStream(logs.get().end());
                }
                recountDeadLettersIfDue();
                List<LogMessage> page = gathered(follower, follower.next(config.apply().batchMessages(), Duration.ofMillis(500)));
                if (page.isEmpty()) {
                    if (filledBehindQuietLog()) {
                        continue;
                    }
                    requireStoreNotBehindWhileQuiet();
                    caughtUp = true;
                    if (hook != null) {
                        hook.drained(System.currentTimeMillis());
                    }
                    continue;
                }
                List<LogMessage> todo = unapplied(page, applied); // applyChunk says when the node is behind

                if (!todo.isEmpty() && todo.get(0).sequence() > applied + 1) {
                    // A gap can be most of the stream (a consumer ahead of a restored database): it is
                    // read and applied a chunk at a time, each its own transaction, not held whole.
                    fillGapTo(todo.get(0).sequence() - 1);
                }
                if (!todo.isEmpty()) {
                    applyChunk(todo);
                }
                LogMessage last = page.get(page.size() - 1);
                if (hook != null && last.sequence() <= applied && last.pending() == 0) {
                    // JetStream had nothing more for this consumer when it delivered the page's last
                    // message, and the page was applied whole (not cut: see unapplied).
                    hook.drained(System.currentTimeMillis());
                }
                // Only what is applied: a message cut from the page is read again by the gap fill once a
                // later one comes, or delivered again after the ack wait.
                follower.ackUpTo(applied);
                lastError = null;
            } catch (Throwable e) {
                if (stopping) {
                    return;
                }
                lastError = e.getClass().getSimpleName() + ": " + e.getMessage();
                if (e instanceof MissingMessage m) {
                    noteMissing(m);
                } else if (e instanceof StoreBehind) {
                    LOG.errorf("applier: %s", e.getMessage());
                } else {
                    LOG.warnf("applier: %s; retrying", lastError);
                }
                if (follower != null) {
                    try {
                        follower.close();
                    } catch (RuntimeException ignored) {
                        // the follower is being replaced anyway
                    }
                    follower = null;
                }
                sleep(e instanceof MissingMessage ? MISSING_RETRY_MILLIS : 1_000);
            }
        }
    }

    /**
     * A message the stream no longer holds is said once, as an error with what to do, not once a retry:
     * nothing but an operator repairs it (readiness and {@code /v1/status} keep saying it meanwhile).
     */
    private void noteMissing(MissingMessage m) {
        if (missingFromLog != m.missing) {
            LOG.errorf("applier: the log stream no longer holds message %d, which this node has not applied (applied up "
                    + "to %d; the next message it holds is %d): it was purged, aged out by a limit on the stream, or "
                    + "deleted. This node cannot catch up from the log and applies nothing until it can: replace its "
                    + "database with a copy of another node's (README: A mirror after the log was cut), or restore the "
                    + "stream", m.missing, applied, m.nextHeld);
        }
        logResumesAt = m.nextHeld;
        missingFromLog = m.missing;
    }

    /**
     * A gap is found when a message above the next one to apply is delivered; on a quiet log none is.
     * The consumer can be ahead of the store with nothing more to deliver (a database restored from
     * a backup, a page cut by {@link #unapplied} whose tail waits for the ack wait): an empty pull then
     * asks the stream where it ends, and anything between is read by sequence before the node reports
     * itself drained, instead of answering from the old state, and 504 to tokens in the gap, until
     * the next commit.
     */
    private boolean filledBehindQuietLog() throws Throwable {
        long last;
        try {
            JetStreamLog.End end = logs.get().end();
            requireSameStream(end);
            last = end.lastSequence();
        } catch (LogUnavailableException e) {
            return false; // the log out of reach: as before this check, the pull's answer stands
        }
        noteStreamEnd(last);
        if (last <= applied) {
            return false;
        }
        fillGapTo(last);
        return true;
    }

    private void noteStreamEnd(long last) {
        long was = streamEndBehindStore;
        if (last < applied) {
            if (was != last) {
                LOG.errorf("applier: the log stream ends at %d, before the %d messages this node has applied: "
                        + "it was deleted and made again, or purged; this node's data no longer matches the log",
                        last, applied);
            }
            streamEndBehindStore = last;
        } else if (was >= 0) {
            LOG.infof("applier: the log stream reaches %d again (this node has applied %d)", last, applied);
            streamEndBehindStore = -1;
        }
    }

    /**
     * Waits while the stream under the log's name is not the one this node's data was applied from,
     * looking again every second (a stream restored from a backup is the same one again). A node with
     * nothing applied, or whose database does not say (written by an earlier build), takes the stream
     * it finds: the latter as such a build did, with the stream's end still checked against its position.
     */
    private void awaitSameStream() {
        while (!stopping) {
            JetStreamLog.End end = logs.get().end();
            if (sameStream(end)) {
                return;
            }
            sleep(1_000);
        }
        throw new IllegalStateException("stopping");
    }

    /** Throws when the stream is another than this node's (see {@link #logReplaced}): the follower is dropped. */
    private void requireSameStream(JetStreamLog.End end) {
        if (!sameStream(end)) {
            throw new IllegalStateException("the log stream was replaced (deleted and made again): this node's data "
                    + "is from another stream; nothing is applied from this one");
        }
    }

    private boolean sameStream(JetStreamLog.End end) {
        long mine = appliedLog;
        if (mine == 0 || mine == end.identity()) {
            appliedLog = end.identity();
            if (replacedBy != 0) {
                LOG.infof("applier: the log stream this node applied from is back (restored); applying again");
            }
            replacedBy = 0;
            io.presage.coord.Tokens.streams(end.identity(), end.identity());
            return true;
        }
        if (replacedBy != end.identity()) {
            LOG.errorf("applier: the log stream was deleted and made again (created at %d µs, this node's data is from "
                    + "the one created at %d µs, applied up to %d): its sequences number other commits, so nothing is "
                    + "applied from it; rebuild this node's database from the new log, or restore the old stream",
                    end.identity(), mine, applied);
        }
        replacedBy = end.identity();
        io.presage.coord.Tokens.streams(mine, end.identity());
        return false;
    }

    private void fillGapTo(long gapEnd) throws Throwable {
        if (missingFromLog != applied + 1) { // not once every retry at a message the stream no longer holds
            LOG.infof("applier: filling a gap of %d messages (%d..%d) by sequence", gapEnd - applied, applied + 1, gapEnd);
        }
        while (applied < gapEnd) {
            applyChunk(fillGap(applied + 1, Math.min(gapEnd, applied + config.apply().batchMessages())));
        }
        LOG.infof("applier: filled the gap up to %d", gapEnd);
    }

    /**
     * Most payload bytes, as the messages' envelopes declare them uncompressed, that one chunk decodes
     * at once. Each message's elements are bounded ({@link BatchCodec#MAX_READ_ELEMENTS}), but a chunk is
     * up to {@code batch-messages} of them, all decoded before any is applied: 64 messages at that bound
     * would hold over a gigabyte. A decoded message holds at most about 25 times its declared bytes (two
     * bytes of protobuf per empty transaction), so this bounds a chunk to some 400 MB whatever the log
     * holds; at the default {@code max-bytes} a chunk still takes at least 18 messages.
     */
    static final long CHUNK_DECODE_BYTES = 16L << 20;

    /**
     * How many of {@code todo}'s first messages one chunk takes: those whose declared payloads add up to
     * at most {@code budget}, and at least one.
     */
    static int withinDecodeBudget(List<LogMessage> todo, long budget) {
        long declared = 0;
        for (int i = 0; i < todo.size(); i++) {
            declared += BatchCodec.declaredPayloadBytes(todo.get(i).data());
            if (declared > budget && i > 0) {
                return i;
            }
        }
        return todo.size();
    }

    /**
     * Applies {@code todo} (consecutive, above the applied sequence) in one transaction and tells the hook
     * and listeners; in several, one after another, when it is more than {@link #CHUNK_DECODE_BYTES} to decode.
     */
    private void applyChunk(List<LogMessage> todo) throws Throwable {
        int fits = withinDecodeBudget(todo, CHUNK_DECODE_BYTES);
        if (fits < todo.size()) {
            applyChunk(todo.subList(0, fits));
            applyChunk(todo.subList(fits, todo.size()));
            return;
        }
        if (caughtUp || lastMessageMillis == 0) {
            // The lag is the age of what is not applied yet: after a quiet spell, this chunk's first message's,
            // not the last one applied before the spell (an hour's silence read as an hour behind while the
            // chunk was applied, and as long as applying it failed). Here, not where a page is pulled: a
            // message can also come by the gap fill of a quiet log, which left the lag at 0 while it waited.
            lastMessageMillis = Math.max(lastMessageMillis, todo.get(0).timestampMillis());
        }
        caughtUp = false;
        long start = System.nanoTime();
        Chunk chunk = apply(todo);
        applyTimer.record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        LogMessage last = todo.get(todo.size() - 1);
        applied = last.sequence();
        lastMessageMillis = last.timestampMillis();
        if (missingFromLog != 0 && applied >= missingFromLog) {
            LOG.infof("applier: the log stream holds message %d again (restored); applied up to %d", missingFromLog, applied);
            missingFromLog = 0;
            logResumesAt = 0;
        }
        if (hook != null) {
            hook.applied(applied, lastMessageMillis, chunk.items(), chunk.writes());
        }
        for (LongConsumer l : listeners) {
            l.accept(applied);
        }
    }

    /**
     * The page's messages above {@code applied}, up to the first that does not follow the one before.
     * A page topped up by {@link #gathered} is two pulls, and the second can start over (the consumer
     * re-created at its ack floor after the connection was replaced): applied together, the older tail's
     * values would overwrite the newer ones' and the store would hold half a transaction at the second
     * pull's end. What is cut off is not acknowledged: the gap fill reads it by sequence once a later
     * message comes, or the consumer delivers it again after its ack wait; a hole stops the applier there.
     */
    static List<LogMessage> unapplied(List<LogMessage> page, long applied) {
        List<LogMessage> todo = new ArrayList<>(page.size());
        for (LogMessage m : page) {
            if (m.sequence() <= applied && todo.isEmpty()) {
                continue;
            }
            if (!todo.isEmpty() && m.sequence() != todo.get(todo.size() - 1).sequence() + 1) {
                break;
            }
            todo.add(m);
        }
        return todo;
    }

    /**
     * A short page, topped up once after {@code presage.apply.gather}: the commits that arrived
     * meanwhile go into the same database transaction (fewer, larger transactions for PostgreSQL).
     */
    private List<LogMessage> gathered(LogFollower follower, List<LogMessage> page) {
        int max = config.apply().batchMessages();
        long gatherMs = config.apply().gather().toMillis();
        if (gatherMs <= 0 || page.isEmpty() || page.size() >= max) {
            return page;
        }
        sleep(gatherMs);
        List<LogMessage> more = follower.next(max - page.size(), Duration.ZERO);
        if (more.isEmpty()) {
            return page;
        }
        List<LogMessage> all = new ArrayList<>(page.size() + more.size());
        all.addAll(page);
        all.addAll(more);
        return all;
    }

    /**
     * Messages {@code from..to}, read from the stream by sequence, every one of them: a message the
     * stream no longer holds (deleted, purged, aged out by limits an operator set) fails the applier
     * loudly, since applying past it would leave this copy without its writes and looking healthy
     * (package-private so a test can ask for a gap directly).
     */
    List<LogMessage> fillGap(long from, long to) {
        List<LogMessage> out = new ArrayList<>();
        JetStreamLog log = logs.get();
        long next = from;
        while (next <= to) {
            List<LogMessage> page = log.fetch(next, (int) Math.min(256, to - next + 1), Duration.ofSeconds(5));
            if (page.isEmpty()) {
                // Nothing at or after `next`: the stream emptied past it (a purge of everything, or a log
                // quiet for longer than a max_age limit), a cut like any other, not a log that stopped
                // answering, which was retried every second for good without saying what was wrong.
                JetStreamLog.End end = log.end();
                requireSameStream(end);
                if (end.firstSequence() > next) {
                    throw new MissingMessage(next, end.firstSequence());
                }
                throw new IllegalStateException("log messages " + next + ".." + to + " cannot be read");
            }
            for (LogMessage m : page) {
                if (next > to) {
                    break;
                }
                if (m.sequence() != next) {
                    // A stream made again since (its numbers start over) is that, not a hole in this one.
                    requireSameStream(log.end());
                    throw new MissingMessage(next, m.sequence());
                }
                out.add(m);
                next = m.sequence() + 1;
            }
        }
        // Read by sequence from whatever stream has the name now: one made again since would hand over
        // its own messages at these numbers.
        requireSameStream(log.end());
        return out;
    }

    /**
     * One database transaction: every write of these messages, their ids, dead letters, the position.
     * The loop passes only messages above the applied sequence; on its own this transaction still
     * never moves a key or the position backwards (package-private so a test can replay through it).
     */
    Chunk apply(List<LogMessage> messages) throws Throwable {
        Map<String, Object[]> items = new LinkedHashMap<>(); // key -> {value, version, vclock map, seq}
        List<Object[]> ids = new ArrayList<>();
        List<Object[]> parked = new ArrayList<>();
        List<LogBatch> batches = new ArrayList<>(messages.size()); // null where parked
        for (LogMessage m : messages) {
            try {
                batches.add(ApplicableBatch.check(codec.decode(m.data())));
            } catch (LogDecodeException e) {
                batches.add(null);
                parked.add(new Object[] {m.sequence(), m.subject(), e.getMessage(), m.data()});
            }
        }
        ApplyHook h = hook;
        ApplyHook perWrite = h != null && h.followsEachWrite() ? h : null;
        List<ApplyHook.AppliedWrite> applied = perWrite == null ? List.of() : received(perWrite, messages, batches);
        Map<String, StoredItem> stored = h == null ? Map.of() : new LinkedHashMap<>();
        int next = 0;
        long maxTs = 0; // every transaction's, read-only ones too: see apply_state.max_ts
        for (int mi = 0; mi < messages.size(); mi++) {
            LogMessage m = messages.get(mi);
            LogBatch batch = batches.get(mi);
            if (batch == null) {
                continue;
            }
            for (LogTxn t : batch.txns()) {
                for (LogWrite w : t.writes()) {
                    if (perWrite != null && !perWrite.validate(applied.get(next++))) {
                        continue;
                    }
                    Object[] prior = items.get(w.key());
                    @SuppressWarnings("unchecked")
                    Map<String, Long> vclock = prior == null ? t.vclock()
                            : Vclocks.merge((Map<String, Long>) prior[2], t.vclock());
                    items.put(w.key(), new Object[] {
                        w.delete() ? null : new String(w.valueJson(), StandardCharsets.UTF_8),
                        t.timestamp(), vclock, m.sequence()});
                    if (h != null) {
                        stored.put(w.key(), new StoredItem(w.key(), w.valueJson(), t.timestamp(), vclock, m.sequence()));
                    }
                }
                maxTs = Math.max(maxTs, t.timestamp());
                if (t.id() != null) {
                    // "" for none: a typed value to bind, stored as null (nullif below).
                    Object[] row = {t.id(), t.timestamp(), t.adjusted(), m.sequence(), t.result() == null ? "" : t.result()};
                    ids.add(row);
                    String call = io.presage.proc.Attempts.callOf(t.id());
                    if (call != null) {
                        // The call's own id too, with its attempt's outcome: ids share one namespace, and a
                        // later transaction under the call's id finds it with one lookup instead of eight
                        // (one per possible attempt), which cost every commit under an id a fifth of its rate.
                        ids.add(new Object[] {call, row[1], row[2], row[3], row[4]});
                    }
                }
            }
        }
        long first = messages.get(0).sequence();
        long last = messages.get(messages.size() - 1).sequence();
        long chunkMaxTs = maxTs;
        long appliedBefore = this.applied; // for StoreBehind's message
        java.util.Set<Long> parkedBefore = reapplying.isEmpty() ? Set.of() : Set.copyOf(reapplying.subSet(first, true, last, true));
        List<Long> cleared = new ArrayList<>(parkedBefore.size());
        for (int mi = 0; mi < messages.size(); mi++) {
            if (batches.get(mi) != null && parkedBefore.contains(messages.get(mi).sequence())) {
                cleared.add(messages.get(mi).sequence()); // parked once, decoded now: applied, its row goes
            }
        }
        List<Object[]> newlyParked = new ArrayList<>(parked.size());
        for (Object[] p : parked) {
            if (!parkedBefore.contains((Long) p[0])) {
                park(p);
                newlyParked.add(p);
            }
        }
        await(() -> sessions.withStatelessTransaction(s -> upsertItems(s, items)
                .chain(() -> insertIds(s, ids))
                .chain(() -> insertDeadLetters(s, newlyParked))
                .chain(() -> clearDeadLetters(s, cleared))
                // Never backwards (a replay of applied messages moves nothing), and never over a hole: a
                // database below the chunk's first message lost commits this applier made (StoreBehind), and
                // the whole transaction is rolled back rather than put the position past what it lacks.
                .chain(() -> s.createNativeQuery("update apply_state set last_seq = greatest(last_seq, :seq), "
                        + "max_ts = greatest(max_ts, :ts), log_id = case when last_seq < :seq then :log else log_id end, "
                        + "updated_at = now() where id = 1 and last_seq >= :first - 1").setParameter("seq", last)
                        .setParameter("first", first).setParameter("ts", chunkMaxTs).setParameter("log", appliedLog)
                        .executeUpdate())
                .invoke(moved -> {
                    if (moved != 1) {
                        throw new StoreBehind(appliedBefore, first);
                    }
                })));
        if (!newlyParked.isEmpty()) {
            deadLetters.addAndGet(newlyParked.size());
            deadLetterCounter.increment(newlyParked.size());
        }
        if (!parkedBefore.isEmpty()) {
            reapplying.removeAll(parkedBefore);
            countDeadLetters(System.nanoTime());
            LOG.infof("applier: applied %d message(s) parked before this build (%s); %d parked message(s) left",
                    cleared.size(), cleared, deadLetters.get());
        }
        return new Chunk(stored, applied);
    }

    /** What a chunk applied, for the hook: final item states and every write in log order. */
    record Chunk(Map<String, StoredItem> items, List<ApplyHook.AppliedWrite> writes) {
    }

    /** Tells the hook each decoded message (the pre-apply buffer); the writes in log order. */
    private static List<ApplyHook.AppliedWrite> received(ApplyHook h, List<LogMessage> messages, List<LogBatch> batches) {
        List<ApplyHook.AppliedWrite> all = new ArrayList<>();
        for (int mi = 0; mi < messages.size(); mi++) {
            LogMessage m = messages.get(mi);
            LogBatch batch = batches.get(mi);
            if (batch == null) {
                continue;
            }
            int from = all.size();
            for (LogTxn t : batch.txns()) {
                for (LogWrite w : t.writes()) {
                    all.add(new ApplyHook.AppliedWrite(w.key(), w.valueJson(), t.timestamp(), t.vclock(),
                            m.sequence(), m.timestampMillis()));
                }
            }
            h.received(m.sequence(), m.timestampMillis(), all.subList(from, all.size()));
        }
        return all;
    }

    /**
     * One statement per chunk whatever its size: the rows travel as five array parameters and
     * {@code unnest} turns them back into rows. A statement with five parameters per row made
     * Hibernate parse and bind thousands of named parameters per chunk on the event loop (a fifth of
     * its time under the commit benchmark). Keys are unique within a chunk, so no row is hit twice.
     */
    private static Uni<Integer> upsertItems(Mutiny.StatelessSession s, Map<String, Object[]> rows) {
        if (rows.isEmpty()) {
            return Uni.createFrom().item(0);
        }
        int n = rows.size();
        String[] keys = new String[n];
        String[] values = new String[n];
        Long[] versions = new Long[n];
        String[] clocks = new String[n];
        Long[] seqs = new Long[n];
        int i = 0;
        for (Map.Entry<String, Object[]> row : rows.entrySet()) {
            Object[] r = row.getValue();
            @SuppressWarnings("unchecked")
            Map<String, Long> vclock = (Map<String, Long>) r[2];
            keys[i] = row.getKey();
            values[i] = (String) r[0];
            versions[i] = (Long) r[1];
            clocks[i] = Vclocks.write(vclock);
            seqs[i] = (Long) r[3];
            i++;
        }
        return s.createNativeQuery("insert into items (item_key, item_value, version, vclock, seq) "
                + "select * from unnest(cast(:k as text[]), cast(:v as text[]), cast(:n as bigint[]), cast(:c as text[]), "
                + "cast(:s as bigint[])) on conflict (item_key) do update set item_value = excluded.item_value, "
                + "version = excluded.version, vclock = (items.vclock::jsonb || excluded.vclock::jsonb)::text, "
                + "seq = excluded.seq where items.version < excluded.version")
                .setParameter("k", keys).setParameter("v", values).setParameter("n", versions)
                .setParameter("c", clocks).setParameter("s", seqs)
                .executeUpdate();
    }

    /**
     * The chunk's idempotency ids in one statement, as {@link #upsertItems} does for items: one
     * statement per id cost a database round trip each, in series, so a workload whose every call
     * carries an id (as a careful client's does) applied a few hundred messages a second. Rows go in
     * log order and a conflict does nothing, so an id already stored, or twice in the chunk, keeps
     * its first outcome.
     */
    private static Uni<Integer> insertIds(Mutiny.StatelessSession s, List<Object[]> ids) {
        if (ids.isEmpty()) {
            return Uni.createFrom().item(0);
        }
        int n = ids.size();
        String[] id = new String[n];
        Long[] ts = new Long[n];
        Boolean[] adjusted = new Boolean[n];
        Long[] seq = new Long[n];
        String[] result = new String[n];
        for (int i = 0; i < n; i++) {
            Object[] r = ids.get(i);
            id[i] = (String) r[0];
            ts[i] = (Long) r[1];
            adjusted[i] = (Boolean) r[2];
            seq[i] = (Long) r[3];
            result[i] = (String) r[4];
        }
        return s.createNativeQuery("insert into txn_ids (txn_id, ts, adjusted, seq, result) "
                + "select i, t, a, q, nullif(r, '') from unnest(cast(:i as text[]), cast(:t as bigint[]), "
                + "cast(:a as boolean[]), cast(:q as bigint[]), cast(:r as text[])) with ordinality as u(i, t, a, q, r, o) "
                + "order by o on conflict do nothing")
                .setParameter("i", id).setParameter("t", ts).setParameter("a", adjusted)
                .setParameter("q", seq).setParameter("r", result)
                .executeUpdate();
    }

    private static Uni<Integer> clearDeadLetters(Mutiny.StatelessSession s, List<Long> seqs) {
        if (seqs.isEmpty()) {
            return Uni.createFrom().item(0);
        }
        return s.createNativeQuery("delete from dead_letters where seq = any(cast(:s as bigint[]))")
                .setParameter("s", seqs.toArray(new Long[0])).executeUpdate();
    }

    private static Uni<Integer> insertDeadLetters(Mutiny.StatelessSession s, List<Object[]> parked) {
        return insertEach(s, "insert into dead_letters (seq, subject, reason, data) values (:p0, :p1, :p2, :p3) "
                + "on conflict do nothing", parked);
    }

    /** Runs {@code sql} once per row, binding {@code :p0…} to the row's values, one after another. */
    private static Uni<Integer> insertEach(Mutiny.StatelessSession s, String sql, List<Object[]> rows) {
        Uni<Integer> u = Uni.createFrom().item(0);
        for (Object[] row : rows) {
            u = u.chain(() -> {
                var q = s.createNativeQuery(sql);
                for (int i = 0; i < row.length; i++) {
                    q.setParameter("p" + i, row[i]);
                }
                return q.executeUpdate();
            });
        }
        return u;
    }

    /**
     * Once per process, before the applier reads its position: parked messages this build can decode are
     * applied again, in log order. A message is parked when the node that read it could not decode it,
     * typically one of a newer batch format written by a coordinator upgraded first; once this node runs
     * a build that reads that format, its writes are no longer lost. The position is moved back to just
     * before the lowest such message, in the database, and the applier goes on from there as it does for
     * a database restored from a backup (the package's invariants hold: the messages after it are applied
     * again in log order, which changes nothing, since an item is only replaced by a newer version and ids
     * keep their first outcome, so every state a reader can see is still a prefix of the log). A parked
     * message is then either applied, its row deleted in the same transaction, or (still not decodable)
     * kept parked as it was. Nothing moves back when the log no longer holds that message as it was
     * parked (cut by a retention limit, another stream under the name): the row stays, and readiness
     * says so, as before.
     */
    private void reapplyParked() throws Throwable {
        Long from = null;
        long after = 0;
        while (from == null) {
            long cursor = after;
            List<Object[]> rows = await(() -> sessions.withStatelessSession(s -> s.createNativeQuery(
                    "select seq, data from dead_letters where seq > :a order by seq limit 64", Object[].class)
                    .setParameter("a", cursor).getResultList()));
            if (rows.isEmpty()) {
                return; // nothing parked that this build can decode
            }
            for (Object[] r : rows) {
                long seq = ((Number) r[0]).longValue();
                after = seq;
                if (decodes((byte[]) r[1]) && heldAsParked(seq, (byte[]) r[1])) {
                    from = seq;
                    break;
                }
            }
        }
        long seq = from;
        List<Long> parkedFrom = await(() -> sessions.withStatelessSession(s -> s.createNativeQuery(
                "select seq from dead_letters where seq >= :s order by seq", Long.class).setParameter("s", seq).getResultList()));
        // At most seq - 1, not only when past it: a start that set it back and was killed before it applied
        // the message left it at seq - 1, and the rows from there are still to be cleared as they are applied
        // (with "where last_seq >= seq" they were not, and readiness stayed down with nothing parked).
        await(() -> sessions.withStatelessTransaction(s -> s.createNativeQuery(
                "update apply_state set last_seq = least(last_seq, :s - 1), updated_at = now() where id = 1")
                .setParameter("s", seq).executeUpdate()));
        reapplying.addAll(parkedFrom);
        LOG.infof("applier: log message %d, parked as undecodable, can be decoded by this build: applying the log "
                + "again from it (%d parked message(s) from there)", seq, parkedFrom.size());
    }

    private boolean decodes(byte[] data) {
        try {
            ApplicableBatch.check(codec.decode(data));
            return true;
        } catch (LogDecodeException e) {
            return false;
        }
    }

    /** Whether the log (the stream this node applied from) still holds message {@code seq} as it was parked. */
    private boolean heldAsParked(long seq, byte[] data) throws Throwable {
        JetStreamLog log = logs.get();
        long mine = await(() -> store.appliedLog());
        if (mine != 0 && mine != log.end().identity()) {
            return false; // another stream now: awaitSameStream reports it
        }
        List<LogMessage> page = log.fetch(seq, 1, Duration.ofSeconds(5));
        boolean held = !page.isEmpty() && page.get(0).sequence() == seq && java.util.Arrays.equals(page.get(0).data(), data);
        if (!held) {
            LOG.errorf("applier: log message %d, parked as undecodable, can be decoded by this build, but the log no "
                    + "longer holds it as it was parked; it stays parked (its writes are missing here)", seq);
        }
        return held;
    }

    private void park(Object[] p) {
        LOG.errorf("log message %d cannot be decoded (%s): parked on %s", p[0], p[2], config.apply().deadLetterSubject());
        logs.get().publishDeadLetter(config.apply().deadLetterSubject(), (long) p[0], (String) p[2], (byte[]) p[3]);
    }

    /**
     * On a quiet log, a database that lost commits this applier made (restored, failed over to a replica
     * that had not received them) went unnoticed until the next message: the node answered from its
     * memory of a position the database no longer has, and the coordinator looked idempotency ids up in a
     * database without them. Asked at most once a second while the log is quiet; throws {@link StoreBehind}
     * so that the loop starts again from the database's position, as at a message. A database that does
     * not answer is not this check's to report: the next message meets it.
     */
    private void requireStoreNotBehindWhileQuiet() {
        long now = System.nanoTime();
        if (now - storeLookedAtNanos < STORE_LOOK_INTERVAL_NANOS) {
            return;
        }
        storeLookedAtNanos = now;
        long stored;
        try {
            // Bounded by a second, not by transaction-timeout: a hung database would otherwise hold an idle
            // applier here, and a mirror's "drained" (its staleness) with it.
            stored = VertxContextSupport.subscribeAndAwait(() -> store.appliedSequence().ifNoItem()
                    .after(Duration.ofSeconds(1)).fail());
        } catch (Throwable e) {
            // Its query may still hold a connection: not another one every second while the database hangs.
            storeLookedAtNanos = now + STORE_LOOK_BACKOFF_NANOS;
            return;
        }
        if (stored < applied) {
            throw new StoreBehind(applied, stored + 1);
        }
    }

    private static final long STORE_LOOK_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final long STORE_LOOK_BACKOFF_NANOS = TimeUnit.SECONDS.toNanos(30);
    private long storeLookedAtNanos = System.nanoTime();

    /**
     * While anything is parked, the count is read again every {@link #DEAD_LETTER_RECOUNT_NANOS}: an
     * operator who has dealt with the parked messages deletes their rows from {@code dead_letters}, and
     * readiness (down while any is parked) comes back without a restart.
     */
    private void recountDeadLettersIfDue() throws Throwable {
        long now = System.nanoTime();
        if (deadLetters.get() > 0 && now - deadLettersCountedAt >= DEAD_LETTER_RECOUNT_NANOS) {
            countDeadLetters(now);
        }
    }

    private void countDeadLetters(long now) throws Throwable {
        long rows = await(this::countDeadLetters);
        deadLetters.set(rows);
        deadLettersCountedAt = now;
    }

    private Uni<Long> countDeadLetters() {
        return sessions.withStatelessSession(s -> s.createNativeQuery("select count(*) from dead_letters", Long.class)
                .getSingleResult());
    }

    private <T> T await(java.util.function.Supplier<Uni<T>> u) throws Throwable {
        // Hibernate Reactive must run on a Vert.x context; this thread is not one, so the Uni is
        // created and subscribed on a duplicated context and this thread waits for it, bounded (see
        // presage.apply.transaction-timeout). A chunk whose transaction committed after all is applied
        // again from the database's position, which changes nothing.
        Duration max = config.apply().transactionTimeout();
        return VertxContextSupport.subscribeAndAwait(() -> u.get().ifNoItem().after(max).failWith(() ->
                new TimeoutException("the database did not answer within " + max.toSeconds()
                        + " s (presage.apply.transaction-timeout); starting again on another connection")));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
