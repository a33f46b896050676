package io.presage.log;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;

import io.nats.client.api.StorageType;

/**
 * Where the commit log lives and how it is created.
 *
 * @param natsUrl         NATS server URL, e.g. {@code nats://127.0.0.1:4222}
 * @param streamName      the JetStream stream holding the log ({@code MIRROR_LOG})
 * @param storage         {@code "file"} (durable, the default) or {@code "memory"}; used only when the
 *                        stream is created
 * @param replicas        stream replicas (1 on a single server, 3 in a cluster); used only on creation
 * @param duplicateWindow how long JetStream remembers {@code Nats-Msg-Id}s; a retried append is
 *                        recognised as a duplicate only within it. Used only on creation
 * @param publishTimeout  bound on one append (and on management requests): after it the append fails
 *                        with {@link LogUnavailableException}, at most a tenth of it (and 100 ms) late
 */
public record LogConfig(String natsUrl, String streamName, String storage, int replicas,
        Duration duplicateWindow, Duration publishTimeout) {

    public static final String DEFAULT_URL = "nats://127.0.0.1:4222";
    public static final String DEFAULT_STREAM = "MIRROR_LOG";
    public static final String FILE = "file";
    public static final String MEMORY = "memory";
    /** JetStream's own default duplicate window. */
    public static final Duration DEFAULT_DUPLICATE_WINDOW = Duration.ofMinutes(2);
    public static final Duration DEFAULT_PUBLISH_TIMEOUT = Duration.ofSeconds(2);

    public LogConfig {
        Objects.requireNonNull(natsUrl, "natsUrl");
        Objects.requireNonNull(streamName, "streamName");
        storage = Objects.requireNonNull(storage, "storage").toLowerCase(Locale.ROOT);
        if (!storage.equals(FILE) && !storage.equals(MEMORY)) {
            throw new IllegalArgumentException("storage must be \"file\" or \"memory\", not \"" + storage + "\"");
        }
        if (replicas < 1) {
            throw new IllegalArgumentException("replicas must be at least 1");
        }
        requirePositive(duplicateWindow, "duplicateWindow");
        requirePositive(publishTimeout, "publishTimeout");
    }

    /** File storage, one replica, 2 min duplicate window, 2 s publish timeout. */
    public static LogConfig defaults(String natsUrl) {
        return new LogConfig(natsUrl, DEFAULT_STREAM, FILE, 1, DEFAULT_DUPLICATE_WINDOW, DEFAULT_PUBLISH_TIMEOUT);
    }

    /** {@link #defaults(String)} against {@value #DEFAULT_URL}. */
    public static LogConfig defaults() {
        return defaults(DEFAULT_URL);
    }

    public LogConfig withStreamName(String name) {
        return new LogConfig(natsUrl, name, storage, replicas, duplicateWindow, publishTimeout);
    }

    public LogConfig withStorage(String newStorage) {
        return new LogConfig(natsUrl, streamName, newStorage, replicas, duplicateWindow, publishTimeout);
    }

    public LogConfig withReplicas(int n) {
        return new LogConfig(natsUrl, streamName, storage, n, duplicateWindow, publishTimeout);
    }

    public LogConfig withDuplicateWindow(Duration window) {
        return new LogConfig(natsUrl, streamName, storage, replicas, window, publishTimeout);
    }

    public LogConfig withPublishTimeout(Duration timeout) {
        return new LogConfig(natsUrl, streamName, storage, replicas, duplicateWindow, timeout);
    }

    StorageType storageType() {
        return storageType(storage);
    }

    /** JetStream's storage type for a configured {@code storage}: {@code "memory"}, else file. */
    public static StorageType storageType(String storage) {
        return MEMORY.equals(storage) ? StorageType.Memory : StorageType.File;
    }

    private static void requirePositive(Duration d, String name) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(name + " must be positive");
        }
    }
}
