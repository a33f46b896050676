package io.presage.node;

import jakarta.annotation.PreDestroy;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import io.presage.config.PresageConfig;
import io.presage.log.JetStreamLog;
import io.presage.log.LogConfig;

/** The node's one connection to the log, opened on first use (and retried by whoever asks). */
@ApplicationScoped
public class LogConnection {
    @Inject
    PresageConfig config;

    private volatile JetStreamLog log;

    /** The connected log; throws when NATS cannot be reached now. */
    public synchronized JetStreamLog get() {
        JetStreamLog l = log;
        if (l == null) {
            PresageConfig.Nats n = config.nats();
            l = JetStreamLog.connect(LogConfig.defaults(n.url())
                    .withStreamName(n.stream())
                    .withStorage(n.storage())
                    .withReplicas(n.replicas())
                    .withDuplicateWindow(n.duplicateWindow())
                    .withPublishTimeout(n.publishTimeout()));
            log = l;
        }
        return l;
    }

    /**
     * The largest message the NATS server takes (its {@code max_payload}, headers included), or 0
     * while not connected: a transaction that cannot fit in one log message can never commit.
     */
    public long maxPayload() {
        JetStreamLog l = log;
        if (l == null || !l.isConnected()) {
            return 0;
        }
        try {
            return JetStreamLog.maxPayload(l.connection());
        } catch (RuntimeException e) {
            return 0; // the connection went away meanwhile
        }
    }

    /** True when a connection exists and is up. */
    public boolean connected() {
        JetStreamLog l = log;
        return l != null && l.isConnected();
    }

    @PreDestroy
    void close() {
        JetStreamLog l = log;
        if (l != null) {
            l.close();
        }
    }
}
