package io.presage.node;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.nats.client.JetStreamApiException;
import io.presage.config.PresageConfig;
import io.presage.log.LogUnavailableException;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;

/**
 * Whether NATS answers, as readiness needs to know. A hung server (frozen, or a network that drops
 * packets silently) keeps its connection open, so the connection looks up; a mirror's follower then
 * sees empty pulls, which a quiet log gives too, and the mirror stayed ready while the coordinator (whose
 * appends time out) was not. So every {@link #EVERY} this asks the stream for its state, a request bounded
 * by {@code presage.nats.publish-timeout}, and the log counts as not answering once no answer has come
 * for {@code presage.nats.unanswered-after}. JetStream refusing (no such stream) is an answer: the
 * server is there, and the applier's own checks report what is wrong with the stream.
 */
@ApplicationScoped
public class LogAnswers {
    static final Duration EVERY = Duration.ofSeconds(1);

    @Inject
    LogConnection logs;
    @Inject
    PresageConfig config;

    private volatile long lastAnswerNanos = System.nanoTime();
    private volatile String lastFailure;
    private ScheduledExecutorService asker;

    void onStart(@Observes StartupEvent ev) {
        lastAnswerNanos = System.nanoTime(); // no answer expected before the node starts
        asker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "presage-log-answers");
            t.setDaemon(true);
            return t;
        });
        asker.scheduleWithFixedDelay(this::ask, 0, EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    void onStop(@Observes ShutdownEvent ev) {
        if (asker != null) {
            asker.shutdownNow();
        }
    }

    /** Why the log counts as not answering, or null while it answers. */
    public String problem() {
        long silentNanos = System.nanoTime() - lastAnswerNanos;
        if (silentNanos <= config.nats().unansweredAfter().toNanos()) {
            return null;
        }
        String why = lastFailure;
        return "NATS does not answer: no reply to a request for the log stream's state for "
                + TimeUnit.NANOSECONDS.toSeconds(silentNanos) + " s" + (why == null ? "" : " (" + why + ")");
    }

    private void ask() {
        try {
            logs.get().end();
            answered();
        } catch (LogUnavailableException e) {
            if (e.getCause() instanceof JetStreamApiException) {
                answered();
            } else {
                lastFailure = e.getMessage();
            }
        } catch (RuntimeException e) {
            lastFailure = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
    }

    private void answered() {
        lastAnswerNanos = System.nanoTime();
        lastFailure = null;
    }
}
