package io.presage.log;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import io.nats.client.Connection;
import io.nats.client.ConnectionListener;
import io.nats.client.ConsumerContext;
import io.nats.client.FetchConsumeOptions;
import io.nats.client.FetchConsumer;
import io.nats.client.JetStream;
import io.nats.client.JetStreamApiException;
import io.nats.client.JetStreamManagement;
import io.nats.client.JetStreamOptions;
import io.nats.client.JetStreamStatusException;
import io.nats.client.Message;
import io.nats.client.Nats;
import io.nats.client.Options;
import io.nats.client.PublishOptions;
import io.nats.client.StreamContext;
import io.nats.client.api.AckPolicy;
import io.nats.client.api.ConsumerConfiguration;
import io.nats.client.api.ConsumerInfo;
import io.nats.client.api.DeliverPolicy;
import io.nats.client.api.PublishAck;
import io.nats.client.api.StreamConfiguration;

/**
 * The replicated commit log: one JetStream stream ({@code MIRROR_LOG}, subjects {@code mirror.log.>}),
 * one message per committed batch on {@code mirror.log.<partition>}. The coordinator appends; mirrors
 * and the coordinator's own applier read it back through {@link #follower durable followers}; recovery
 * replays it with {@link #fetch}. Payloads are opaque here (the batch codec lives elsewhere).
 *
 * <h2>The commit point</h2>
 * A batch is committed when JetStream acknowledges it ({@link #append} completes normally): the stream
 * has stored it (on {@code replicas} servers, through RAFT, when clustered). Nothing before the ack
 * counts; a failed or timed-out append must be treated as not committed until proven otherwise.
 *
 * <h2>Fencing: at most one writer</h2>
 * Every append carries {@code Nats-Expected-Last-Sequence}: the stream's last sequence as the writer
 * believes it to be (its previous ack, or {@link #lastSequence()} at start-up; 0 for an empty stream).
 * JetStream stores the message only if that is still the stream's last sequence, atomically with the
 * append, and otherwise refuses it with API error 10071 ({@link LogFencedException}). So a coordinator
 * that was replaced — paused by GC, partitioned, or simply not yet aware of its successor — can never
 * append after the successor has: its expectation is stale the moment anyone else appends. Two writers
 * racing from the same position cannot both win either. The price is that one writer's appends form a
 * chain: each must know the previous ack's sequence, so the coordinator appends one group-committed
 * batch at a time (or chains them). Checked on nats-server 2.9.10: an expectation of 0 on a non-empty
 * stream is refused as well, so even the very first append is fenced.
 *
 * <h2>De-duplication: retries are safe</h2>
 * Every append also carries {@code Nats-Msg-Id}, which the caller derives from the batch (e.g. the
 * coordinator epoch and batch number). Within the stream's duplicate window JetStream stores a given id
 * once; a repeat is acknowledged with the original sequence and flagged ({@link Appended#duplicate()}).
 * JetStream checks the id before the expected sequence, so retrying an append whose outcome was lost
 * (a {@link LogUnavailableException} that {@linkplain LogUnavailableException#mayHaveBeenAppended may
 * have landed}) with the same id and the same expectation tells the three cases apart: it landed (a
 * duplicate ack), it did not and nobody else appended (stored now), or the stream moved past the
 * expected position without it (fenced). A resend fenced because the stream has not yet reached the
 * expected position proves nothing: an earlier message of a pipeline, itself without an ack, may still
 * land, and this one's first attempt right after it (GroupCommit treats that as unknown).
 * Past the window only fencing protects, so retry promptly.
 *
 * <h2>Failure behaviour</h2>
 * The log reconnects forever, with capped exponential backoff, by replacing a lost connection with a
 * fresh one (re-checking the stream) rather than letting jnats reconnect the old one in place: jnats
 * 2.25.1 has a race in that path (nats-io/nats.java#1522) that leaves a client reporting "connected"
 * whose writer never sends again; here it struck about one server restart in four. Replacing also means
 * nothing is buffered while disconnected: appends fail at once, and an append whose caller was told it
 * failed cannot quietly reach the stream after a reconnect. An append in flight when the server goes
 * away fails once {@link LogConfig#publishTimeout()} has passed (at most a tenth of it, and 100 ms, later);
 * it never hangs.
 *
 * <p>Thread-safe. {@link #append} is meant for the commit path: one publish and one future, its
 * timeout kept by {@link AppendDeadlines}' periodic sweep rather than a timer of its own.
 */
public final class JetStreamLog implements AutoCloseable {

    /** Subjects of the stream: one per partition below this prefix. */
    public static final String SUBJECT_PREFIX = "mirror.log.";
    public static final String STREAM_SUBJECTS = SUBJECT_PREFIX + ">";

    /** JetStream API error codes this class reacts to. */
    static final int ERR_WRONG_LAST_SEQUENCE = 10071;
    /** The last message's id is not the one the writer expected (Nats-Expected-Last-Msg-Id). */
    static final int ERR_WRONG_LAST_MSG_ID = 10070;
    /** Newer servers (2.11+) may refuse an expectation without naming the sequence. */
    static final int ERR_WRONG_LAST_SEQUENCE_CONSTANT = 10164;
    static final int ERR_STREAM_NOT_FOUND = 10059;
    static final int ERR_CONSUMER_NOT_FOUND = 10014;

    /** jnats refuses waiting fetches that expire sooner than this. */
    static final long MIN_FETCH_WAIT_MILLIS = 1_000;
    static final Duration FOLLOWER_ACK_WAIT = Duration.ofSeconds(30);
    private static final Duration REPLAY_CONSUMER_INACTIVE = Duration.ofSeconds(30);
    private static final Duration PING_INTERVAL = Duration.ofSeconds(5);
    private static final long RECONNECT_BASE_MILLIS = 50;
    private static final long RECONNECT_MAX_MILLIS = 2_000;

    private static final System.Logger LOG = System.getLogger(JetStreamLog.class.getName());

    /** One connection and the JetStream handles made from it: replaced when lost, never repaired. */
    record Session(Connection connection, JetStream js, JetStreamManagement jsm, StreamContext stream) {
    }

    private final LogConfig config;
    private final AppendDeadlines deadlines;
    /** Sweeps publish deadlines only, so that a slow reconnect attempt can never delay them. */
    private final ScheduledThreadPoolExecutor timer;
    private final ScheduledThreadPoolExecutor reconnector;
    private final AtomicBoolean reconnecting = new AtomicBoolean();
    private volatile Session session;
    private volatile boolean connected;
    private volatile boolean closed;
    private int reconnectAttempts; // reconnector thread only

    private JetStreamLog(LogConfig config) {
        this.config = config;
        this.deadlines = new AppendDeadlines(config.publishTimeout());
        this.timer = daemonScheduler("presage-log-timeout");
        long period = deadlines.sweepPeriodNanos();
        timer.scheduleAtFixedRate(this::expireOverdueAppends, period, period, TimeUnit.NANOSECONDS);
        this.reconnector = daemonScheduler("presage-log-reconnect");
    }

    private static ScheduledThreadPoolExecutor daemonScheduler(String name) {
        ScheduledThreadPoolExecutor scheduler = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        scheduler.setRemoveOnCancelPolicy(true);
        return scheduler;
    }

    /**
     * Connects to NATS and makes sure the stream exists: created with the configured storage, replicas
     * and duplicate window if absent; if present, left as it is but for a duplicate window shorter than
     * the configured one, which is raised to it (see widenDuplicateWindow). From then on the log reconnects
     * by itself whenever the connection is lost.
     *
     * @throws LogUnavailableException if the server cannot be reached or the stream not checked/created
     */
    public static JetStreamLog connect(LogConfig config) {
        JetStreamLog log = new JetStreamLog(config);
        try {
            log.session = log.newSession();
            log.connected = log.session.connection().getStatus() == Connection.Status.CONNECTED;
            if (!log.connected) {
                log.scheduleReconnect(); // lost before its events were listened to
            }
            return log;
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            log.close();
            throw new LogUnavailableException("cannot open log stream " + config.streamName() + " at "
                    + config.natsUrl() + ": " + e.getMessage(), false, e);
        } catch (InterruptedException e) {
            log.close();
            Thread.currentThread().interrupt();
            throw new LogUnavailableException("interrupted while connecting to " + config.natsUrl(), false, e);
        }
    }

    /** Connects, makes sure the stream exists, and builds the handles; closes the connection on failure. */
    private Session newSession() throws IOException, InterruptedException, JetStreamApiException {
        Options options = new Options.Builder()
                .server(config.natsUrl())
                .connectionName("presage-log:" + config.streamName())
                .connectionTimeout(config.publishTimeout())
                .noReconnect() // lost connections are replaced, see the class comment
                // A server that vanished without closing the socket, or a client that stopped writing,
                // is noticed after two unanswered pings (instead of jnats' default of 2 x 2 minutes).
                .pingInterval(PING_INTERVAL)
                .maxPingsOut(2)
                .connectionListener(this::onConnectionEvent)
                .build();
        Connection connection = Nats.connect(options);
        try {
            JetStreamOptions jsOptions = JetStreamOptions.builder().requestTimeout(config.publishTimeout()).build();
            JetStreamManagement jsm = connection.jetStreamManagement(jsOptions);
            ensureStream(jsm);
            return new Session(connection, connection.jetStream(jsOptions), jsm,
                    connection.getStreamContext(config.streamName(), jsOptions));
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }

    private void ensureStream(JetStreamManagement jsm) throws IOException, JetStreamApiException {
        try {
            widenDuplicateWindow(jsm, jsm.getStreamInfo(config.streamName()).getConfiguration());
            return;
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() != ERR_STREAM_NOT_FOUND) {
                throw e;
            }
        }
        StreamConfiguration sc = StreamConfiguration.builder()
                .name(config.streamName())
                .subjects(STREAM_SUBJECTS)
                .storageType(config.storageType())
                .replicas(config.replicas())
                .duplicateWindow(config.duplicateWindow())
                .build();
        try {
            jsm.addStream(sc);
            LOG.log(Level.INFO, "created log stream {0} ({1}, {2} replica(s))", config.streamName(),
                    config.storage(), config.replicas());
        } catch (JetStreamApiException e) {
            // Another process may have created it meanwhile (identical configs are accepted, different
            // ones refused); whatever exists now is what we use.
            widenDuplicateWindow(jsm, jsm.getStreamInfo(config.streamName()).getConfiguration());
        }
    }

    /**
     * An append's resend is told apart from a new message only within the stream's duplicate window;
     * the configuration is checked to outlast every resend, but a stream made earlier (by an older
     * build, by hand, with other settings) may keep a shorter window, and then a resend of a message
     * that landed is stored twice or comes back fenced. So a shorter window is raised to the
     * configured one; a longer one is left alone (another node may have asked for it).
     */
    private void widenDuplicateWindow(JetStreamManagement jsm, StreamConfiguration existing)
            throws IOException, JetStreamApiException {
        Duration window = existing.getDuplicateWindow();
        if (window != null && window.compareTo(config.duplicateWindow()) >= 0) {
            return;
        }
        jsm.updateStream(StreamConfiguration.builder(existing).duplicateWindow(config.duplicateWindow()).build());
        LOG.log(Level.INFO, "raised the duplicate window of log stream {0} from {1} to {2}",
                new Object[] {config.streamName(), window, config.duplicateWindow()});
    }

    private void onConnectionEvent(Connection conn, ConnectionListener.Events event) {
        Session current = session;
        if (current == null || current.connection() != conn) {
            return; // a replaced connection, or the first one before connect() has returned
        }
        boolean up = conn.getStatus() == Connection.Status.CONNECTED;
        connected = up;
        if (!up && !closed) {
            LOG.log(Level.WARNING, "log connection to {0} lost ({1}); reconnecting", config.natsUrl(), event);
            scheduleReconnect();
        }
    }

    private void scheduleReconnect() {
        if (closed || !reconnecting.compareAndSet(false, true)) {
            return;
        }
        schedule(reconnectDelay(0));
    }

    private void schedule(Duration delay) {
        try {
            reconnector.schedule(this::reconnect, delay.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            reconnecting.set(false); // closed meanwhile
        }
    }

    /** On the reconnector thread: one attempt, rescheduling itself with backoff until one succeeds. */
    private void reconnect() {
        if (closed) {
            return;
        }
        Session fresh;
        try {
            fresh = newSession();
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            schedule(reconnectDelay(++reconnectAttempts));
            return;
        } catch (InterruptedException e) {
            return; // closing
        }
        Session old = session;
        session = fresh;
        connected = fresh.connection().getStatus() == Connection.Status.CONNECTED;
        LOG.log(Level.INFO, "log connection to {0} replaced after {1} failed attempt(s)", config.natsUrl(),
                reconnectAttempts);
        reconnectAttempts = 0;
        reconnecting.set(false);
        closeQuietly(old);
        if (closed) {
            closeQuietly(fresh);
        } else if (!connected) {
            scheduleReconnect(); // lost again before it was installed, when its events were still ignored
        }
    }

    private static void closeQuietly(Session s) {
        if (s == null) {
            return;
        }
        try {
            s.connection().close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Duration reconnectDelay(long attempts) {
        long capped = Math.min(RECONNECT_BASE_MILLIS << Math.min(attempts, 10), RECONNECT_MAX_MILLIS);
        return Duration.ofMillis(capped / 2 + ThreadLocalRandom.current().nextLong(capped / 2 + 1));
    }

    /**
     * The current connection, for other JetStream work of the node (the coordinator lease's key-value
     * bucket): it is replaced when lost, so ask again for each use rather than keeping it. Throws
     * LogUnavailableException while there is none.
     */
    public Connection connection() {
        return liveSession().connection();
    }

    /** The current session, or LogUnavailableException while there is none. */
    Session liveSession() {
        Session s = session;
        if (s == null || !connected) {
            throw new LogUnavailableException("not connected to " + config.natsUrl(), false, null);
        }
        return s;
    }

    /** The subject of a partition's batches. */
    public static String subjectFor(int partition) {
        return SUBJECT_PREFIX + partition;
    }

    public String streamName() {
        return config.streamName();
    }

    public LogConfig config() {
        return config;
    }

    /**
     * Whether the log is reachable right now, as tracked by the connection listener: false from the
     * moment a connection is lost until its replacement is up and has found the stream.
     */
    public boolean isConnected() {
        return connected;
    }

    /**
     * The stream's last sequence (0 if nothing was ever appended): what a new writer passes as its
     * first expected last sequence.
     *
     * @throws LogUnavailableException if not connected or no answer within the publish timeout
     */
    public long lastSequence() {
        return end().lastSequence();
    }

    /**
     * Where the stream ends, and which stream it is: its creation time in microseconds since the epoch.
     * A stream deleted and made again under the same name numbers from 1 again, so a sequence means
     * something only together with this identity; JetStream keeps it across server restarts, in a
     * cluster, and when a stream is restored from a backup (the same log again).
     *
     * @throws LogUnavailableException if not connected or no answer within the publish timeout
     */
    public End end() {
        Session s = liveSession();
        try {
            io.nats.client.api.StreamInfo info = s.jsm().getStreamInfo(config.streamName());
            java.time.Instant created = info.getCreateTime().toInstant();
            return new End(info.getStreamState().getLastSequence(),
                    Math.max(1, created.getEpochSecond() * 1_000_000 + created.getNano() / 1_000),
                    info.getStreamState().getFirstSequence());
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            throw new LogUnavailableException("cannot read the state of " + config.streamName()
                    + ": " + e.getMessage(), false, e);
        }
    }

    /**
     * The stream's last sequence, its identity (creation time, µs; never 0, which means "not known"), and
     * the first message it still holds (above 1 once its start was purged or aged out by a limit;
     * {@code lastSequence + 1} when it holds none).
     */
    public record End(long lastSequence, long identity, long firstSequence) {
    }

    /**
     * The JetStream timestamp (server receive time, ≈ commit time) of the message at {@code sequence}:
     * one direct request, for lag reports.
     *
     * @throws LogUnavailableException if not connected, no such message, or no answer in time
     */
    public long messageTimestampMillis(long sequence) {
        Session s = liveSession();
        try {
            return s.jsm().getMessage(config.streamName(), sequence).getTime().toInstant().toEpochMilli();
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            throw new LogUnavailableException("cannot read message " + sequence + " of " + config.streamName()
                    + ": " + e.getMessage(), false, e);
        }
    }

    /**
     * Appends one batch, fenced and de-duplicated (see the class comment).
     *
     * @param subject              {@code mirror.log.<partition>} ({@link #subjectFor})
     * @param payload              the encoded batch
     * @param msgId                the batch's unique id ({@code Nats-Msg-Id})
     * @param expectedLastSequence the stream's last sequence as this writer knows it; 0 for an empty stream
     * @return completes with the stream sequence of the stored batch (or of the earlier identical one,
     *         flagged duplicate); completes exceptionally with {@link LogFencedException} if the stream
     *         has moved past {@code expectedLastSequence}, or {@link LogUnavailableException} if the log
     *         cannot be reached or does not answer within the publish timeout. A payload larger than the
     *         server's max payload fails with {@link IllegalArgumentException}.
     */
    public CompletableFuture<Appended> append(String subject, byte[] payload, String msgId, long expectedLastSequence) {
        return append(subject, payload, msgId, expectedLastSequence, null);
    }

    /**
     * As {@link #append(String, byte[], String, long)}, and, unless {@code expectedLastMsgId} is null,
     * only if the stream's last message has that id: a writer pipelining several appends chains each
     * to the one before, so that when another writer's message takes a slot, every later append of
     * the pipeline is refused too (expected sequences alone would let the next one match).
     */
    public CompletableFuture<Appended> append(String subject, byte[] payload, String msgId, long expectedLastSequence,
                                              String expectedLastMsgId) {
        Session s = session;
        if (s == null || !connected) {
            return CompletableFuture.failedFuture(
                    new LogUnavailableException("not connected to " + config.natsUrl(), false, null));
        }
        PublishOptions.Builder builder = PublishOptions.builder()
                .messageId(msgId)
                .expectedLastSequence(expectedLastSequence);
        if (expectedLastMsgId != null) {
            builder.expectedLastMsgId(expectedLastMsgId);
        }
        PublishOptions options = builder.build();
        CompletableFuture<PublishAck> ackFuture;
        try {
            ackFuture = s.js().publishAsync(subject, payload, options);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(e);
        } catch (RuntimeException e) {
            // IllegalStateException: the connection has just closed. Never sent.
            return CompletableFuture.failedFuture(
                    new LogUnavailableException("append not sent: " + e.getMessage(), false, e));
        }
        CompletableFuture<Appended> result = new CompletableFuture<>();
        deadlines.track(result, System.nanoTime());
        ackFuture.whenComplete((ack, error) -> {
            if (error == null) {
                result.complete(new Appended(ack.getSeqno(), ack.isDuplicate()));
            } else {
                result.completeExceptionally(translate(error, expectedLastSequence));
            }
        });
        return result;
    }

    /**
     * The periodic sweep. Callers' reactions to a timeout run here (a retry appends again, which is
     * fine mid-sweep); nothing may escape, because a periodic task that throws is never run again and
     * appends would then hang.
     */
    private void expireOverdueAppends() {
        try {
            deadlines.expire(System.nanoTime(), () -> new LogUnavailableException(
                    "no ack from the log within " + config.publishTimeout(), true, null));
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "sweeping append deadlines failed; sweeping on", e);
        }
    }

    static Throwable translate(Throwable error, long expectedLastSequence) {
        Throwable t = error;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        // jnats wraps the server's refusal: ExecutionException > RuntimeException > JetStreamApiException.
        JetStreamApiException api = find(t, JetStreamApiException.class);
        if (api != null) {
            int code = api.getApiErrorCode();
            if (code == ERR_WRONG_LAST_SEQUENCE || code == ERR_WRONG_LAST_SEQUENCE_CONSTANT) {
                return new LogFencedException(expectedLastSequence, parseActualLastSequence(api.getErrorDescription()), api);
            }
            if (code == ERR_WRONG_LAST_MSG_ID) {
                return new LogFencedException(expectedLastSequence, -1, api);
            }
            return new LogUnavailableException("the log refused the append: " + api.getMessage(), false, api);
        }
        if (isNoResponders(t) || isNoResponders(t.getCause())) {
            return new LogUnavailableException("no responders for the log stream (JetStream down or stream missing)",
                    false, t);
        }
        if (t instanceof TimeoutException || t instanceof CancellationException) {
            return new LogUnavailableException("no ack from the log: " + t, true, t);
        }
        return new LogUnavailableException("append failed: " + t, true, t);
    }

    private static <T extends Throwable> T find(Throwable t, Class<T> type) {
        for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    private static boolean isNoResponders(Throwable t) {
        if (t == null) {
            return false;
        }
        if (t instanceof JetStreamStatusException status) {
            return status.getStatus() != null && status.getStatus().getCode() == 503;
        }
        String m = t.getMessage();
        return t instanceof IOException && m != null && (m.contains("503") || m.contains("No Responders"));
    }

    /** "wrong last sequence: 42" gives 42; anything else -1. */
    static long parseActualLastSequence(String description) {
        if (description == null) {
            return -1;
        }
        int colon = description.lastIndexOf(':');
        if (colon < 0) {
            return -1;
        }
        try {
            return Long.parseLong(description.substring(colon + 1).trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * Replay: up to {@code max} messages from {@code fromSequence} on, in stream order. Returns as soon
     * as messages are available; waits up to {@code wait} only if there are none yet (jnats rounds a
     * wait below one second up to one second; a zero wait does not wait). An empty list means nothing
     * at or after {@code fromSequence} arrived in time.
     *
     * <p>Each call reads through its own short-lived ephemeral consumer (no acks, deleted afterwards),
     * so it costs three requests; read in batches of hundreds, not one message at a time.
     *
     * @throws LogUnavailableException if the log cannot be read
     */
    public List<LogMessage> fetch(long fromSequence, int max, Duration wait) {
        if (max <= 0) {
            return List.of();
        }
        Session session = liveSession();
        StreamContext stream = session.stream();
        ConsumerConfiguration cc = ConsumerConfiguration.builder()
                .ackPolicy(AckPolicy.None)
                .deliverPolicy(DeliverPolicy.ByStartSequence)
                .startSequence(Math.max(1, fromSequence))
                .inactiveThreshold(REPLAY_CONSUMER_INACTIVE)
                .memStorage(true)
                .build();
        ConsumerContext consumer;
        try {
            consumer = stream.createOrUpdateConsumer(cc);
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            throw new LogUnavailableException("cannot replay " + config.streamName() + ": " + e.getMessage(), false, e);
        }
        try {
            return read(session, consumer, max, wait, m -> { });
        } finally {
            try {
                stream.deleteConsumer(consumer.getConsumerName());
            } catch (IOException | JetStreamApiException | RuntimeException e) {
                // it expires by itself after REPLAY_CONSUMER_INACTIVE
            }
        }
    }

    /**
     * A durable follower: an applier's position in the log, kept by JetStream as a durable pull
     * consumer named {@code durableName} (explicit acks) that survives reconnects, restarts of this
     * process and, with file storage, of the server.
     *
     * <p>{@code startSequence} (the first sequence to deliver; typically the applier's last applied
     * sequence from PostgreSQL plus one) is used only when the consumer is created. An existing consumer
     * resumes right after its last acknowledged message and the argument is ignored. If an earlier
     * follower of that name (another process, or this one before a reconnect) left messages delivered
     * but unacknowledged, the consumer is re-created at its ack floor, so those come first instead of
     * after the ack wait; hence at most one live follower per durable name. Exactly-once application
     * does not come from here: a message can be delivered again (its ack lost, the applier crashed
     * between commit and ack, the ack wait expired), so the applier stores the last applied sequence in
     * the same database transaction as the batch and skips anything at or below it. See
     * {@link LogFollower}.
     *
     * @throws LogUnavailableException if not connected, or the consumer cannot be looked up or created
     */
    public LogFollower follower(String durableName, long startSequence) {
        Session s = liveSession();
        return new LogFollower(this, durableName, s, bindFollower(s, durableName, true, startSequence),
                config.publishTimeout());
    }

    /**
     * The follower's consumer in session {@code s}: looked up; re-created at its ack floor if deliveries
     * are outstanding from an earlier session; created at {@code startSequence} if absent and
     * {@code create} (otherwise it vanished, and only the applier's database knows where to resume).
     */
    ConsumerContext bindFollower(Session s, String durableName, boolean create, long startSequence) {
        try {
            return bindOrCreate(s.stream(), durableName, create, startSequence);
        } catch (IOException | JetStreamApiException | RuntimeException e) {
            throw new LogUnavailableException("cannot open follower " + durableName + " on " + config.streamName()
                    + ": " + e.getMessage(), false, e);
        }
    }

    private static ConsumerContext bindOrCreate(StreamContext stream, String durableName, boolean create,
            long startSequence) throws IOException, JetStreamApiException {
        ConsumerContext existing;
        try {
            existing = stream.getConsumerContext(durableName);
        } catch (JetStreamApiException e) {
            if (e.getApiErrorCode() != ERR_CONSUMER_NOT_FOUND || !create) {
                throw e;
            }
            return createFollowerConsumer(stream, durableName, startSequence);
        }
        ConsumerInfo info = existing.getCachedConsumerInfo();
        if (info == null || info.getNumAckPending() == 0) {
            return existing;
        }
        // Deliveries to an earlier follower are outstanding. JetStream would hand out the messages after
        // them first and redeliver these only after the ack wait: a gap the applier would have to wait
        // out. Re-create the consumer at its own ack floor, so it resumes right after the last ack. (A
        // consumer that never had an ack reports floor 0, not its start sequence minus one.)
        long resumeAt = Math.max(info.getAckFloor().getStreamSequence() + 1,
                info.getConsumerConfiguration().getStartSequence());
        LOG.log(Level.INFO, "follower {0}: {1} unacknowledged deliveries from an earlier session; resuming at {2}",
                durableName, info.getNumAckPending(), resumeAt);
        stream.deleteConsumer(durableName);
        return createFollowerConsumer(stream, durableName, resumeAt);
    }

    private static ConsumerContext createFollowerConsumer(StreamContext stream, String durableName, long startSequence)
            throws IOException, JetStreamApiException {
        ConsumerConfiguration cc = ConsumerConfiguration.builder()
                .durable(durableName)
                .ackPolicy(AckPolicy.Explicit)
                .ackWait(FOLLOWER_ACK_WAIT)
                .deliverPolicy(DeliverPolicy.ByStartSequence)
                .startSequence(Math.max(1, startSequence))
                .build();
        try {
            return stream.createOrUpdateConsumer(cc);
        } catch (JetStreamApiException e) {
            // Created concurrently with another start sequence: use the existing one, as documented.
            return stream.getConsumerContext(durableName);
        }
    }

    /** What a pull asks for at most in bytes, unless the server's max_payload needs more (see {@link #pullBytes}). */
    static final long PULL_BYTES = 16L << 20;
    /** Room beside the largest payload for its subject and headers as delivered. */
    private static final long PULL_MESSAGE_OVERHEAD = 64L << 10;

    /**
     * The bytes a pull asks for. A pull bounded by its message count alone was delivered whole, and
     * nats-server closes a client with more than its {@code max_pending} (64 MB by default) unread: a
     * page of 64 one-megabyte messages, or a replay's 256, cost a reconnect on every pull, and only the
     * first dozen or so got through each time. At least one whole message of the server's
     * {@code max_payload}: a pull whose bytes cannot hold the next message gets nothing, which would
     * read as caught up.
     */
    static long pullBytes(Connection c) {
        return Math.max(PULL_BYTES, maxPayload(c) + PULL_MESSAGE_OVERHEAD);
    }

    /** The server's {@code max_payload} (headers included) as {@code c} last heard it, or 0 when not known. */
    public static long maxPayload(Connection c) {
        io.nats.client.api.ServerInfo info = c == null ? null : c.getServerInfo();
        return info == null ? 0 : info.getMaxPayload();
    }

    /**
     * One pull: up to {@code max} messages and {@link #pullBytes} bytes, returning as soon as some are
     * there, else after {@code wait}. Messages received before a failure are returned; the failure
     * surfaces on the next call.
     */
    static List<LogMessage> read(Session session, ConsumerContext consumer, int max, Duration wait,
            Consumer<Message> onMessage) {
        long bytes = Math.min(Integer.MAX_VALUE, pullBytes(session.connection()));
        FetchConsumeOptions.Builder options = FetchConsumeOptions.builder().max((int) bytes, max);
        long waitMillis = wait == null ? 0 : wait.toMillis();
        if (waitMillis <= 0) {
            options.noWait();
        } else {
            options.noWaitExpiresIn(Math.max(MIN_FETCH_WAIT_MILLIS, waitMillis));
        }
        List<LogMessage> out = new ArrayList<>(Math.min(max, 256));
        try (FetchConsumer fetch = consumer.fetch(options.build())) {
            Message m;
            while ((m = fetch.nextMessage()) != null) {
                onMessage.accept(m);
                out.add(toLogMessage(m));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // IOException, JetStreamApiException, JetStreamStatusCheckedException (e.g. consumer deleted),
            // IllegalStateException (connection closed); FetchConsumer.close() declares Exception too.
            if (out.isEmpty()) {
                throw new LogUnavailableException("cannot read the log: " + e.getMessage(), false, e);
            }
        }
        return out;
    }

    static LogMessage toLogMessage(Message m) {
        var meta = m.metaData();
        return new LogMessage(meta.streamSequence(), m.getSubject(), m.getData(),
                meta.timestamp().toInstant().toEpochMilli(), meta.pendingCount());
    }

    /** Closes the connection and stops reconnecting; pending appends fail, followers stop working. */
    @Override
    public void close() {
        closed = true;
        connected = false;
        reconnector.shutdownNow();
        try {
            closeQuietly(session);
        } finally {
            timer.shutdownNow();
        }
    }

    /**
     * Parks an undecodable log message: publishes its bytes on {@code subject} (core NATS, so any
     * operator tool can pick it up) with headers naming the stream and sequence it came from.
     */
    public void publishDeadLetter(String subject, long sequence, String reason, byte[] data) {
        io.nats.client.impl.Headers h = new io.nats.client.impl.Headers();
        h.add("Presage-Stream", config.streamName());
        h.add("Presage-Sequence", Long.toString(sequence));
        h.add("Presage-Reason", reason.length() > 512 ? reason.substring(0, 512) : reason);
        Session s = session;
        if (s == null) {
            throw new LogUnavailableException("not connected: cannot park message " + sequence, false, null);
        }
        s.connection().publish(subject, h, data);
    }
}
