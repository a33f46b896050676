package io.presage.log;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeoutException;

import io.nats.client.ConsumerContext;
import io.nats.client.JetStreamApiException;
import io.nats.client.Message;

/**
 * An applier's cursor on the log: a durable JetStream pull consumer with explicit acks (created by
 * {@link JetStreamLog#follower}).
 *
 * <p>Typical loop: {@code next} a batch, apply each message whose sequence is above the last applied
 * one and record that sequence in the same database transaction, commit, then {@code ack} the last
 * message. The consumer's acknowledged position is only a hint of where to resume; the database's
 * last applied sequence is the truth, which is why a message delivered twice is harmless.
 *
 * <h2>Ack semantics: up to</h2>
 * {@link #ackUpTo(long)} acknowledges <em>every message this follower delivered with a sequence up to
 * the one given</em> that is not yet acknowledged, and returns once the
 * server has confirmed (the last ack is synchronous; JetStream processes one connection's acks in
 * order). One call per applied batch is therefore enough, and after it returns a follower reopened
 * under the same name, in this process or another, resumes after that sequence. Messages delivered but
 * not acknowledged come back at once if this follower is {@linkplain #close closed} (it gives them back,
 * "nak"), first thing when a follower of the same name is opened after a crash or this one continues
 * after the log reconnected (see {@link JetStreamLog#follower}), and otherwise after the consumer's ack
 * wait (30 s). nats-server 2.9 persists consumer acks lazily: acks confirmed just before the server
 * is stopped can be lost with it, and those messages are then delivered again after the restart, one
 * more reason why the database, not the consumer, decides what has been applied.
 *
 * <p>Not thread-safe: one applier thread per follower.
 */
public final class LogFollower implements AutoCloseable {

    private final JetStreamLog log;
    private final String durableName;
    private final Duration ackTimeout;
    /** Delivered, not yet acknowledged, in delivery order; all from {@link #session}. */
    private final ArrayDeque<Message> unacked = new ArrayDeque<>();
    private JetStreamLog.Session session;
    private ConsumerContext consumer;
    private boolean closed;

    LogFollower(JetStreamLog log, String durableName, JetStreamLog.Session session, ConsumerContext consumer,
            Duration ackTimeout) {
        this.log = log;
        this.durableName = durableName;
        this.session = session;
        this.consumer = consumer;
        this.ackTimeout = ackTimeout;
    }

    public String durableName() {
        return durableName;
    }

    /**
     * Up to {@code max} messages after this consumer's position, in stream order. Returns as soon as
     * messages are available; waits up to {@code wait} only when there are none (jnats rounds a wait
     * below one second up to one second; zero does not wait). Empty means caught up.
     *
     * <p>An empty pull is confirmed with one consumer-info request, because a pull to a consumer that
     * no longer exists (deleted, or lost with a memory stream) or to a JetStream that is still
     * recovering after a restart also just returns nothing; an applier must not take that for "caught
     * up".
     *
     * @throws LogUnavailableException if the log cannot be read or the consumer is gone; in the latter
     *         case reopen the follower with the database's position as start sequence
     */
    public List<LogMessage> next(int max, Duration wait) {
        ensureOpen();
        if (max <= 0) {
            return List.of();
        }
        ConsumerContext current = currentConsumer();
        List<LogMessage> messages = JetStreamLog.read(session, current, max, wait, unacked::addLast);
        if (messages.isEmpty()) {
            try {
                current.getConsumerInfo();
            } catch (IOException | JetStreamApiException | RuntimeException e) {
                throw new LogUnavailableException("follower " + durableName + " cannot read: " + e.getMessage(), false, e);
            }
        }
        return messages;
    }

    /**
     * The consumer bound in the log's current session. After the log replaced its connection, the
     * deliveries still unacknowledged belong to the dead one and cannot be acknowledged any more;
     * rebinding re-creates the consumer at its ack floor so they come again at once.
     */
    private ConsumerContext currentConsumer() {
        JetStreamLog.Session live = log.liveSession();
        if (live != session) {
            consumer = log.bindFollower(live, durableName, false, 0);
            session = live;
            unacked.clear();
        }
        return consumer;
    }

    /**
     * Acknowledges every message at or below {@code sequence} this follower delivered and has not
     * acknowledged yet (see the class comment); returns when the server has confirmed. Messages this
     * follower did not deliver, or already acknowledged, are ignored.
     *
     * @throws LogUnavailableException if the server does not confirm within the publish timeout; the
     *         messages are then redelivered later, which the applier's idempotency absorbs
     */
    public void ackUpTo(long sequence) {
        ensureOpen();
        try {
            Message last = null;
            for (Iterator<Message> it = unacked.iterator(); it.hasNext(); ) {
                Message m = it.next();
                if (m.metaData().streamSequence() <= sequence) {
                    it.remove();
                    if (last != null) {
                        last.ack();
                    }
                    last = m;
                }
            }
            if (last != null) {
                last.ackSync(ackTimeout);
            }
        } catch (TimeoutException | RuntimeException e) {
            // RuntimeException: the connection these messages came on is closed.
            throw new LogUnavailableException("ack of " + durableName + " up to " + sequence
                    + " not confirmed: " + e.getMessage(), true, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new LogUnavailableException("interrupted while acknowledging " + durableName, true, e);
        }
    }

    /** Messages delivered to this follower and not acknowledged yet. */
    public int unackedCount() {
        return unacked.size();
    }

    /**
     * Gives unacknowledged messages back to the server for immediate redelivery; the durable consumer
     * itself stays, with its position.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Message m : unacked) {
            try {
                m.nak();
            } catch (RuntimeException e) {
                // not connected: they come back after the ack wait instead
            }
        }
        unacked.clear();
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("follower " + durableName + " is closed");
        }
    }
}
