package io.presage.coord;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

import io.presage.certify.Certifier;
import io.presage.certify.CertifierLoop;
import io.presage.log.Appended;
import io.presage.log.BatchCodec;
import io.presage.log.JetStreamLog;
import io.presage.log.LogBatch;
import io.presage.log.LogFencedException;
import io.presage.log.LogTxn;
import io.presage.log.LogUnavailableException;
import io.presage.log.LogWrite;

/**
 * Group commit: turns each batch the certifier loop hands over into as few log messages as the
 * size limit allows, appends them with {@code Nats-Msg-Id} and {@code Nats-Expected-Last-Sequence},
 * and answers COMMITTED only after JetStream's ack — the commit point.
 *
 * <p>Batching adapts to load in two ways. At most {@code maxInflight} messages are published and
 * not yet acknowledged; while that many are in flight, newly committed transactions wait and the
 * next free slot takes all of them in one message. And while commits arrive in company — the last
 * message carried at least {@code spacingAfterTxns} transactions — messages are spaced at least
 * {@code minIntervalNanos} apart: a transaction committed sooner than that after the last message
 * waits for the interval to end (or for its message to reach {@code maxBytes}) and goes out with
 * everything committed meanwhile. A busy coordinator thus publishes one message per interval
 * carrying everything committed in it, and a transaction waits at most one interval. A lone
 * commit after a lone commit never waits: a client committing one transaction after another would
 * otherwise wait out the interval every time and gain nothing. Every log message costs the same
 * wherever it goes — a publish and its ack, JetStream storing it, each applier fetching and
 * acknowledging it — whatever it carries, so fewer, fuller messages are what make commits cheaper
 * than raw publishes. Messages are pipelined, each expecting the sequence the previous one will
 * get and, while that one is in flight, its id as the stream's last ({@code Nats-Expected-Last-Msg-Id}:
 * with the sequence alone, a message of another writer taking one slot would let the next of the
 * pipeline match), and are settled (answered, released or undone) in the order they were published, whatever order
 * their acks come back in.
 *
 * <p>Failure: if an append fails for certain, the certifier is rolled back to just before that
 * message (which also undoes everything certified after it), every affected client gets 503, and
 * new batches are refused until every message in flight has settled; then the coordinator checks
 * the stream's last sequence against what it knows. Equal, and every failed append refused for
 * certain: it carries on. Different (an append whose outcome was unknown did land, or another
 * coordinator wrote), or equal after an append that got no ack (it may land yet): it asks for a
 * resync, which rebuilds the certifier from the log behind a barrier that the stray cannot pass. An
 * uncertain append (timeout) is first retried with the same message id and expected sequence, which
 * JetStream de-duplicates: nats-server checks the message id
 * before the expectations (2.9 to 2.11, and clustered streams later). From 2.12 a single-replica
 * stream checks the expected sequence first, so a resend of a message that did land is refused as
 * fenced instead: still safe (its clients get 503, the coordinator rebuilds from the log), only
 * rougher. The launcher installs Debian's 2.9.
 *
 * <p>Threading: {@link #onBatch} and everything that touches certifier state or this object's
 * fields runs on the loop thread (acks post their follow-up there with {@code loop.execute}).
 */
final class GroupCommit implements CertifierLoop.BatchHandler {

    private static final System.Logger LOG = System.getLogger(GroupCommit.class.getName());

    interface Events {
        /** The log holds something the certifier does not: rebuild it from the log. */
        void resyncNeeded(String why);

        /** A message was acknowledged: its size, how long its oldest transaction waited to be published, the append's latency. */
        void published(int txns, int bytes, long delayNanos, long publishNanos);

        /**
         * A message is being sent, {@code txns} transactions under {@code msgId}: its first attempt
         * ({@code resend} false) or a resend after no ack. Lets a test know what is in flight instead of
         * sleeping and hoping; the coordinator has no use for it.
         */
        default void sending(String msgId, int txns, boolean resend) {
        }
    }

    private static final class Message {
        final List<CertifierLoop.Certified> txns;
        final long markBefore;
        final long markAfter;
        final String msgId;
        /** The message it was chained to (expected-last-msg-id), or null. */
        final String previousId;
        boolean rolledBack;

        Message(List<CertifierLoop.Certified> txns, long markBefore, long markAfter, String msgId, String previousId) {
            this.txns = txns;
            this.markBefore = markBefore;
            this.markAfter = markAfter;
            this.msgId = msgId;
            this.previousId = previousId;
        }
    }

    private final JetStreamLog log;
    private final BatchCodec codec = new BatchCodec();
    private final String subject;
    private final String coordinatorId;
    private final long epoch;
    private final int maxBytes;
    private final int retries;
    private final RecentWrites recent;
    private final Events events;
    private CertifierLoop loop;

    private final ArrayDeque<Message> inflight = new ArrayDeque<>();
    /**
     * The messages settled with an unknown outcome since the last that was not. Settlements run one
     * after another (each chained to the one before), so this needs no lock.
     */
    private final List<Message> unknownRun = new ArrayList<>();
    /** Completes once the last message published has been settled: the next one settles after it. */
    private CompletableFuture<Void> settled = CompletableFuture.completedFuture(null);
    /** Certified, committed, not yet published (waiting for room in the pipeline). */
    private List<CertifierLoop.Certified> pending = new ArrayList<>();
    private long pendingMark;
    private long pendingSince;
    private int pendingBytes;
    /** Elements of the pending transactions ({@link BatchCodec#MAX_ELEMENTS}): a second bound on a message. */
    private int pendingElements;
    private final int maxInflight;
    private final long minIntervalNanos;
    private final int spacingAfterTxns;
    /** Transactions in the last message published: whether commits are arriving in company. */
    private int lastMessageTxns;
    /** When the last message went out; starts a whole interval back, so the first goes out at once. */
    private long lastPublishNanos;
    private long nextBatchId;
    private long lastAcked;
    private long expectedLast;
    private boolean failing;
    private boolean resync;
    /**
     * A message was sent and never acknowledged: it may still land, at the sequence it expected, for
     * as long as nothing else is appended there. The stream's last sequence matching what the
     * certifier knows proves nothing then (the stray can arrive right after the check: a clustered
     * stream committing a proposal made before a leader change, a replaced connection's bytes read
     * late), and carrying on would certify retries against state that misses it: a retry told 409
     * while its first attempt then lands. So the certifier is rebuilt instead, and recovery's barrier,
     * appended at that sequence, settles it: after the barrier the stray can no longer land.
     */
    private boolean uncertain;

    GroupCommit(JetStreamLog log, String subject, String coordinatorId, long epoch, int maxBytes, int retries,
                int maxInflight, long minIntervalNanos, int spacingAfterTxns, long lastSequence, RecentWrites recent,
                Events events) {
        this.maxInflight = maxInflight;
        this.minIntervalNanos = minIntervalNanos;
        this.spacingAfterTxns = spacingAfterTxns;
        this.lastPublishNanos = System.nanoTime() - minIntervalNanos;
        this.log = log;
        this.subject = subject;
        this.coordinatorId = coordinatorId;
        this.epoch = epoch;
        this.maxBytes = maxBytes;
        this.retries = retries;
        this.recent = recent;
        this.events = events;
        this.lastAcked = lastSequence;
        this.expectedLast = lastSequence;
    }

    /**
     * Runs a settlement where the append's outcome arrived, unless that is the loop thread itself (an
     * append that failed at once, the log disconnected): settling posts to the loop's queue and waits
     * for room there, which the loop, its only consumer, would never make. Settlements stay in order,
     * each chained to the one before.
     */
    private final Executor offLoop = task -> {
        if (loop.onLoopThread()) {
            ForkJoinPool.commonPool().execute(task);
        } else {
            task.run();
        }
    };

    void attach(CertifierLoop loop) {
        this.loop = loop;
    }

    /**
     * The loop has been closed (the coordinator rebuilds from the log): transactions certified but
     * never published are answered 503. Call only after the loop thread has stopped.
     */
    void abandon() {
        answerUnavailable(pending, "the coordinator is rebuilding its state; retry");
        clearPending();
    }

    @Override
    public void onBatch(Certifier certifier, long markBefore, long markAfter, List<CertifierLoop.Certified> batch) {
        for (CertifierLoop.Certified c : batch) {
            if (!c.decision().committed()) {
                if (failing) {
                    // Decided against a state rolled back past a message that may still land (an
                    // unknown outcome), and beside commits that will be rolled back too: the retry of
                    // that message's transaction, under its id, would be told ABORTED while its first
                    // attempt lands committed. Not a decision, then: 503, and the retry comes after.
                    ((Answer) c.callback()).outcome(new CommitOutcome.Unavailable(
                            "the log is recovering from a failed append; retry"));
                    continue;
                }
                c.answer(); // aborted: nothing to publish, nothing to undo
                continue;
            }
            if (pending.isEmpty()) {
                pendingMark = markBefore;
                pendingSince = System.nanoTime();
            }
            pending.add(c);
            pendingBytes += estimate((TxnSpec) c.attachment());
            pendingElements += elements((TxnSpec) c.attachment());
        }
        flush(certifier, System.nanoTime());
    }

    /** Whether pending transactions should wait for the end of the interval since the last message. */
    private boolean spacing(long nowNanos) {
        return lastMessageTxns >= spacingAfterTxns && pendingBytes < maxBytes && pendingElements < BatchCodec.MAX_ELEMENTS
                && nowNanos - lastPublishNanos < minIntervalNanos;
    }

    /** Sends what waited for the end of the interval; asks to be called back when the next one ends. */
    @Override
    public long tick(Certifier certifier) {
        if (pending.isEmpty()) {
            return CertifierLoop.NO_DEADLINE;
        }
        flush(certifier, System.nanoTime());
        // Still waiting: for an ack (which the loop is woken for) or for the interval to end.
        return pending.isEmpty() || inflight.size() >= maxInflight
                ? CertifierLoop.NO_DEADLINE : lastPublishNanos + minIntervalNanos;
    }

    /**
     * Publishes what is pending if the pipeline has room and the interval since the last message has
     * passed (or the pending transactions fill a message). Otherwise they wait here and the next
     * message carries all of them: batches grow exactly as fast as commits arrive, and an idle
     * coordinator publishes each transaction at once. After a failure, nothing waits: the pending
     * transactions are answered at once.
     */
    private void flush(Certifier certifier, long nowNanos) {
        if (pending.isEmpty()) {
            return;
        }
        if (!failing && (inflight.size() >= maxInflight || spacing(nowNanos))) {
            return;
        }
        List<CertifierLoop.Certified> all = pending;
        long partStart = pendingMark;
        long since = pendingSince;
        boolean fitsOneMessage = pendingBytes <= maxBytes && pendingElements <= BatchCodec.MAX_ELEMENTS;
        clearPending();
        lastPublishNanos = nowNanos;
        lastMessageTxns = all.size();
        if (fitsOneMessage) {
            publish(certifier, all, partStart, since); // the usual case: no need to size each again
            return;
        }
        List<CertifierLoop.Certified> part = new ArrayList<>();
        int bytes = 0;
        int elements = 0;
        for (CertifierLoop.Certified c : all) {
            int size = estimate((TxnSpec) c.attachment());
            int count = elements((TxnSpec) c.attachment());
            if (!part.isEmpty() && (bytes + size > maxBytes || elements + count > BatchCodec.MAX_ELEMENTS)) {
                partStart = publish(certifier, part, partStart, since);
                part = new ArrayList<>();
                bytes = 0;
                elements = 0;
            }
            part.add(c);
            bytes += size;
            elements += count;
        }
        publish(certifier, part, partStart, since);
    }

    /**
     * The message body for these transactions, or null when the codec refuses them. Nothing it refuses
     * gets this far (keys, values and sizes are checked before certification, and batches are cut at
     * the codec's bounds), so this is a bug; but one thrown here would leave the transactions certified
     * and their clients unanswered for good. Null goes the way of an append refused before it was sent:
     * the certifier's state for them is undone and the clients get 503.
     */
    private byte[] encodeOrNull(long batchId, List<CertifierLoop.Certified> txns) {
        try {
            return codec.encode(LogBatch.of(coordinatorId, epoch, 0, batchId, toLog(txns)));
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "a batch of " + txns.size() + " transactions could not be encoded for the log;"
                    + " they are undone and answered 503", e);
            return null;
        }
    }

    /** Publishes one message; returns the undo position after it. */
    private long publish(Certifier certifier, List<CertifierLoop.Certified> txns, long markBefore, long since) {
        final long markAfter = txns.get(txns.size() - 1).markAfter();
        if (failing) {
            certifier.rollbackTo(markBefore);
            answerUnavailable(txns, "the log is recovering from a failed append; retry");
            return markAfter;
        }
        final long batchId = ++nextBatchId;
        final byte[] payload = encodeOrNull(batchId, txns);
        final String msgId = coordinatorId + "-" + epoch + "-" + batchId;
        final long expected = expectedLast++;
        // Chained to the message before it while that one is still in flight: if another writer's
        // message took its slot, this one is refused as well. A settled predecessor is the stream's
        // last, which the expected sequence alone checks; chaining to it would also trip over a
        // server restarted since, which keeps the last id only within the duplicate window.
        final Message previous = inflight.peekLast();
        final String previousId = previous == null ? null : previous.msgId;
        final Message m = new Message(txns, markBefore, markAfter, msgId, previousId);
        inflight.addLast(m);
        final long start = System.nanoTime();
        final long delay = start - since;
        CompletableFuture<Void> earlierSettled = settled;
        CompletableFuture<Appended> appended = payload != null ? append(payload, msgId, txns.size(), expected, previousId, retries, false)
                : CompletableFuture.failedFuture(new LogUnavailableException(
                        "the batch could not be encoded for the log (see the error logged)", false, null));
        settled = appended
                .handle(AppendOutcome::new)
                .thenCombine(earlierSettled, (outcome, earlier) -> outcome)
                .thenAcceptAsync(outcome -> settle(m, inPlace(outcome, expected), payload == null ? 0 : payload.length,
                        delay, start), offLoop)
                .exceptionally(GroupCommit::logged);
        return markAfter;
    }

    /** An append's ack, or why it failed. */
    private record AppendOutcome(Appended ack, Throwable error) {
    }

    /**
     * An ack at any other sequence than right after the expected one is not this message's: its id
     * matched an older message (a duplicate ack from a reused id), so it was not stored. Failed.
     */
    private static AppendOutcome inPlace(AppendOutcome o, long expected) {
        if (o.error() == null && o.ack().sequence() != expected + 1) {
            return new AppendOutcome(null, new LogFencedException(expected, -1, new IllegalStateException(
                    "acked at sequence " + o.ack().sequence() + (o.ack().duplicate() ? " as a duplicate" : "")
                            + ", not right after " + expected)));
        }
        return o;
    }

    /**
     * Answers a message's clients and hands its outcome to the loop thread. Runs once every message
     * published before it has settled: acks can come back out of order (an append that timed out is
     * resent, and the server may ack a later message before the resend), and a message must not be
     * answered, nor its log position made readable, before the writes of an earlier message are in
     * memory, nor release undo records of an earlier message whose outcome is still open.
     */
    private void settle(Message m, AppendOutcome outcome, int bytes, long delay, long start) {
        if (outcome.error() == null) {
            long sequence = outcome.ack().sequence();
            events.published(m.txns.size(), bytes, delay, System.nanoTime() - start);
            putLandedPredecessors(m, sequence);
            answerCommitted(m, sequence);
            post(c -> acked(c, m, sequence));
        } else {
            boolean unknown = unwrap(outcome.error()) instanceof LogUnavailableException u && u.mayHaveBeenAppended();
            if (unknown) {
                unknownRun.add(m);
            } else {
                unknownRun.clear();
            }
            String why = rootMessage(outcome.error());
            // failed() first, on the loop thread: a retry its answer provokes is certified after
            // `failing` is set, never published behind this message.
            post(c -> {
                failed(c, m, unknown);
                if (unknown) {
                    answerUnknown(m.txns, "the log did not confirm the commit: it may still be made; retry under the same id, "
                            + "or read before retrying without one (" + why + ")");
                } else {
                    answerUnavailable(m.txns, "the log did not accept the commit: " + why);
                }
            });
        }
    }

    /** A failure in settling one message must not stop the later ones, which wait on it. */
    private static Void logged(Throwable t) {
        LOG.log(System.Logger.Level.ERROR, "settling a log message failed", t);
        return null;
    }

    /**
     * Appends, resending after an outcome that is not known. {@code sentBefore}: an earlier attempt may
     * have landed, so a last failure that proves nothing of it ("not connected" after a timeout) is
     * reported as unknown too; a fence past the expected position does prove it, since JetStream
     * answers a resent id that got in with a duplicate ack before it checks the expected sequence (a
     * fence short of it does not: see lastFailure).
     */
    private CompletableFuture<Appended> append(byte[] payload, String msgId, int txns, long expected, String previousId,
                                               int attemptsLeft, boolean sentBefore) {
        events.sending(msgId, txns, sentBefore);
        return log.append(subject, payload, msgId, expected, previousId).handle((ack, err) -> {
            if (err == null) {
                return CompletableFuture.completedFuture(ack);
            }
            Throwable cause = unwrap(err);
            boolean mayHaveLanded = cause instanceof LogUnavailableException u && u.mayHaveBeenAppended();
            if (attemptsLeft > 0 && mayHaveLanded) {
                // Same id, same expectation: JetStream answers a duplicate ack if the first got in.
                return append(payload, msgId, txns, expected, previousId, attemptsLeft - 1, true);
            }
            return CompletableFuture.<Appended>failedFuture(lastFailure(cause, sentBefore));
        }).thenCompose(f -> f);
    }

    /** An append's last failure as its clients must hear it, {@code sentBefore} an earlier attempt without an ack. */
    static Throwable lastFailure(Throwable cause, boolean sentBefore) {
        if (sentBefore && cause instanceof LogUnavailableException u && !u.mayHaveBeenAppended()) {
            return new LogUnavailableException("an earlier attempt got no ack, and then: " + u.getMessage(), true, u);
        }
        if (sentBefore && cause instanceof LogFencedException f && f.actualLastSequence() < f.expectedLastSequence()) {
            // The stream has not reached this message's expected position (or did not say where it is):
            // an earlier message of the pipeline, itself without an ack, may still land, and this one's
            // first attempt right after it. Only a stream past the expectation proves it never lands.
            return new LogUnavailableException("an earlier attempt got no ack, and the resend was refused short of "
                    + "its expected position: " + f.getMessage(), true, f);
        }
        return cause;
    }

    private void acked(Certifier certifier, Message m, long sequence) {
        inflight.remove(m);
        lastAcked = Math.max(lastAcked, sequence);
        if (m.rolledBack) {
            // Rolled back because an earlier message failed, yet it is in the log.
            resync = true;
        } else {
            certifier.release(m.markAfter); // durable; anything failed later lies after it
        }
        settleIfQuiet();
        flush(certifier, System.nanoTime());
    }

    private void failed(Certifier certifier, Message m, boolean unknown) {
        inflight.remove(m);
        uncertain |= unknown;
        if (!m.rolledBack) {
            certifier.rollbackTo(m.markBefore);
            for (Message later : inflight) {
                later.rolledBack = true; // undone with it; they will fail too (wrong expected sequence)
            }
            m.rolledBack = true;
            failing = true;
            // Waiting transactions were certified after m: the rollback undid them too.
            answerUnavailable(pending, "the log did not accept an earlier commit; retry");
            clearPending();
        }
        settleIfQuiet();
    }

    private void clearPending() {
        pending = new ArrayList<>();
        pendingBytes = 0;
        pendingElements = 0;
    }

    private void settleIfQuiet() {
        if (!failing || !inflight.isEmpty()) {
            return;
        }
        long last;
        try {
            last = log.lastSequence();
        } catch (RuntimeException e) {
            events.resyncNeeded("cannot read the stream's last sequence: " + e.getMessage());
            return;
        }
        if (resync || last != lastAcked) {
            events.resyncNeeded("the log has sequence " + last + " but the certifier knows " + lastAcked);
            return;
        }
        if (uncertain) {
            events.resyncNeeded("an append got no ack and may still land after sequence " + last
                    + ": rebuilding behind a barrier there");
            return;
        }
        expectedLast = last;
        failing = false;
    }

    private void answerCommitted(Message m, long sequence) {
        recent.acked(sequence);
        putVersions(m, sequence); // visible to reads before the client hears COMMITTED: every acknowledged commit is
        recent.visible(sequence);
        for (CertifierLoop.Certified c : m.txns) {
            ((Answer) c.callback()).outcome(new CommitOutcome.Committed(
                    c.decision().timestamp(), c.decision().adjusted(), sequence));
        }
    }

    private void putVersions(Message m, long sequence) {
        for (CertifierLoop.Certified c : m.txns) {
            TxnSpec spec = (TxnSpec) c.attachment();
            long ts = c.decision().timestamp();
            Map<String, Long> vclock = Map.of(spec.origin(), ts);
            for (TxnSpec.Write w : spec.writes()) {
                recent.put(new RecentWrites.Version(w.key(), w.valueJson(), ts, sequence, vclock));
            }
        }
    }

    /**
     * {@code m} landed at {@code sequence}; the messages right before it that settled with an unknown
     * outcome (their clients told 504) landed too if {@code m} was chained to them: JetStream checked
     * that the stream's last message id was its predecessor's, so that one is at {@code sequence - 1},
     * and so on back along the chain. Their versions go into memory before {@code sequence} is made
     * visible: else reads there (and reconciliations, at confidence 1) showed {@code m}'s writes without
     * theirs, a state no log position holds, until the applier or the rebuild put them in.
     */
    private void putLandedPredecessors(Message m, long sequence) {
        if (unknownRun.isEmpty()) {
            return; // every ack but those right after a lost one
        }
        String chainedTo = m.previousId;
        int landed = 0;
        for (int i = unknownRun.size() - 1; i >= 0 && chainedTo != null && chainedTo.equals(unknownRun.get(i).msgId); i--) {
            chainedTo = unknownRun.get(i).previousId;
            landed++;
        }
        for (int i = unknownRun.size() - landed, at = 0; i < unknownRun.size(); i++, at++) {
            putVersions(unknownRun.get(i), sequence - landed + at);
        }
        unknownRun.clear();
    }

    private static void answerUnknown(List<CertifierLoop.Certified> txns, String why) {
        for (CertifierLoop.Certified c : txns) {
            ((Answer) c.callback()).outcome(new CommitOutcome.Unknown(why));
        }
    }

    private static void answerUnavailable(List<CertifierLoop.Certified> txns, String why) {
        for (CertifierLoop.Certified c : txns) {
            ((Answer) c.callback()).outcome(new CommitOutcome.Unavailable(why));
        }
    }

    private List<LogTxn> toLog(List<CertifierLoop.Certified> txns) {
        List<LogTxn> out = new ArrayList<>(txns.size());
        for (CertifierLoop.Certified c : txns) {
            TxnSpec spec = (TxnSpec) c.attachment();
            List<LogWrite> writes = new ArrayList<>(spec.writes().size());
            for (TxnSpec.Write w : spec.writes()) {
                writes.add(w.delete() ? LogWrite.remove(w.key()) : LogWrite.put(w.key(), w.valueJson()));
            }
            List<String> reads = new ArrayList<>(spec.reads().size());
            for (TxnSpec.Read r : spec.reads()) {
                reads.add(r.key());
            }
            long ts = c.decision().timestamp();
            out.add(new LogTxn(ts, spec.id(), c.decision().adjusted(), spec.origin(), writes,
                    Map.of(spec.origin(), ts), reads, spec.result()));
        }
        return out;
    }

    /**
     * The elements {@code spec} adds to a log batch, as the codec counts them: itself, its writes, its
     * read keys and its one vector-clock entry ({@link #toLog}). At most {@link BatchCodec#MAX_TXN_KEYS}
     * keys + 2, so a transaction alone always fits a message.
     */
    static int elements(TxnSpec spec) {
        return 2 + spec.writes().size() + spec.reads().size();
    }

    /**
     * At least the bytes {@code spec} takes in a log batch, before compression: a message split by these
     * estimates stays under max_payload. Text counts 3 bytes a char (UTF-8's most per UTF-16 unit); an id
     * counted 1, and 4,000 transactions under 128-character CJK ids made a message twice the estimate.
     * The origin is written twice (as the transaction's origin and in its vector clock).
     */
    static int estimate(TxnSpec spec) {
        int n = 64 + (spec.id() == null ? 0 : spec.id().length() * 3) + (spec.result() == null ? 0 : spec.result().length() * 3)
                + (spec.origin() == null ? 0 : 2 * (spec.origin().length() * 3 + 12));
        for (TxnSpec.Write w : spec.writes()) {
            n += 16 + w.key().length() * 3 + (w.valueJson() == null ? 0 : w.valueJson().length);
        }
        for (TxnSpec.Read r : spec.reads()) {
            n += 8 + r.key().length() * 3;
        }
        return n;
    }

    /** Runs on the loop thread; waits (briefly) for room in its queue rather than dropping. */
    private void post(Consumer<Certifier> task) {
        while (!loop.execute(task)) {
            LockSupport.parkNanos(TimeUnit.MICROSECONDS.toNanos(50));
        }
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof java.util.concurrent.CompletionException
                || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static String rootMessage(Throwable t) {
        Throwable u = unwrap(t);
        return u.getMessage() == null ? u.getClass().getSimpleName() : u.getMessage();
    }

    /** The callback a submission carries: where its outcome goes. */
    interface Answer extends CertifierLoop.Callback {
        void outcome(CommitOutcome o);

        @Override
        default void notCertified() {
            outcome(new CommitOutcome.Unavailable("the coordinator could not certify this now; retry"));
        }

        /** Only aborts are answered straight from a decision; commits wait for the log's ack. */
        @Override
        default void onDecision(io.presage.certify.Decision d) {
            outcome(new CommitOutcome.Aborted(d.reason(), d.conflicts()));
        }
    }
}
