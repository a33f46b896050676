package io.presage.config;

import java.time.Duration;
import java.util.Optional;

import io.presage.certify.CertifierConfig;
import io.presage.certify.Policy;
import io.quarkus.runtime.configuration.MemorySize;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import jakarta.validation.constraints.DecimalMax;
import jakarta.validation.constraints.DecimalMin;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Pattern;
import org.hibernate.validator.constraints.time.DurationMin;

/** Every {@code presage.*} setting; the README's configuration reference lists them all. */
@ConfigMapping(prefix = "presage")
@ResendsWithinDuplicateWindow
@MirrorHasItsOwnId
public interface PresageConfig {

    /** {@code coordinator} or {@code mirror}; set by the profile of the same name. */
    @WithDefault("coordinator")
    @Pattern(regexp = "coordinator|mirror", message = "must be coordinator or mirror")
    String role();

    /**
     * This node's id: names it in vector clocks, message ids and durable consumers, so it takes only what
     * a NATS consumer's name can hold (a dot or a space in it failed at the applier's first bind).
     */
    @WithDefault("coordinator")
    @Pattern(regexp = "[A-Za-z0-9_-]{1,50}", message = "must be 1 to 50 letters, digits, '_' or '-' (it names a NATS consumer)")
    String nodeId();

    /**
     * The project directory and node name that {@code ./presage} puts on each node's command line
     * ({@code -Dpresage.home=…}, {@code -Dpresage.node=…}) so that it can recognise its own processes.
     * Unused by the node; declared so that the mapping's check for unknown {@code presage.*} keys
     * accepts them instead of refusing to start.
     */
    Optional<String> home();

    /** See {@link #home()}. */
    Optional<String> node();

    Nats nats();

    Certification certification();

    @io.smallrye.config.WithName("group-commit")
    GroupCommit groupCommit();

    Apply apply();

    /**
     * Settings of the mirror role; the coordinator reads only {@code causal-timeout} and
     * {@code max-timeout-ms}, for its own reads with {@code after}.
     */
    Mirror mirror();

    /** The active coordinator's lease, for running a standby coordinator (DESIGN §10); unused at mirrors. */
    Lease lease();

    interface Lease {
        /**
         * Off: this coordinator is active from the start (one coordinator). On, on every coordinator of
         * a group: only the holder of the lease serves; the others stand by (not ready, 503) until it
         * expires. Each coordinator of a group needs its own {@code presage.node-id} and database.
         */
        @WithDefault("false")
        boolean enabled();

        /** How long a lease lasts without renewal: a failed holder is replaced after about this long. */
        @WithDefault("5s")
        @DurationMin(millis = 300)
        Duration ttl();

        /** The NATS key-value bucket holding the lease (created when absent, with the ttl). */
        @WithDefault("presage_lease")
        @NotBlank
        String bucket();
    }

    interface Nats {
        @WithDefault("nats://127.0.0.1:4222")
        @NotBlank
        String url();

        @WithDefault("MIRROR_LOG")
        @NotBlank
        String stream();

        /** {@code file} or {@code memory}. */
        @WithDefault("file")
        @Pattern(regexp = "(?i)file|memory", message = "must be file or memory")
        String storage();

        @WithDefault("1")
        @Min(1) @Max(5)
        int replicas();

        /** How long JetStream remembers message ids for de-duplication. */
        @WithDefault("2m")
        @DurationMin(millis = 100)
        Duration duplicateWindow();

        /**
         * How long one append may wait for JetStream's ack before it is retried; checked every tenth
         * of it (at most 100 ms), so an append fails up to that much later.
         */
        @WithDefault("2s")
        @DurationMin(millis = 10)
        Duration publishTimeout();

        /**
         * Readiness fails once NATS has not answered a request for the log stream's state (asked every
         * second) for this long: a hung server keeps its connection open.
         */
        @WithDefault("5s")
        @DurationMin(millis = 1000)
        Duration unansweredAfter();
    }

    interface Certification {
        /** {@code adaptive} (timestamp history) or {@code basic}. */
        @WithDefault("adaptive")
        @Pattern(regexp = "(?i)adaptive|basic", message = "must be adaptive or basic")
        String policy();

        /** k: write timestamps kept per key. */
        @WithDefault("8")
        @Min(1) @Max(1024)
        int historyDepth();

        /** Keys with exact metadata per partition. */
        @WithDefault("1048576")
        @Min(1)
        int windowKeys();

        /** Buckets of floors standing in for evicted keys, per partition (power of two). */
        @WithDefault("2097152")
        @Min(1) @PowerOfTwo
        int floorBuckets();

        @WithDefault("1")
        @Min(1) @Max(1024)
        int partitions();

        @WithDefault("65536")
        @Min(1)
        int adjustedWindow();

        /**
         * Longest a certifier waits for the store's version of a cold key; past it the read is refused
         * as HISTORY_TOO_SHORT (the client retries) rather than stalling every commit.
         */
        @WithDefault("500ms")
        @DurationMin(millis = 1)
        Duration coldLookupTimeout();

        /** After a cold lookup timed out or failed, none is tried for this long. */
        @WithDefault("2s")
        @DurationMin(nanos = 0)
        Duration coldLookupPause();

        default CertifierConfig toCore() {
            return new CertifierConfig(Policy.parse(policy()), historyDepth(), windowKeys(), floorBuckets(),
                    partitions(), adjustedWindow());
        }
    }

    interface GroupCommit {
        /**
         * Estimated bytes at which a batch is split into several log messages (JetStream's max payload
         * must allow it). Not a limit on one transaction: a larger one still goes alone in one message.
         */
        @WithDefault("900000")
        @Min(1024)
        int maxBytes();

        /** Most transactions certified per batch. */
        @WithDefault("1024")
        @Min(1)
        int maxTransactions();

        /** Capacity of the queue in front of the certifier; when full, writes get 503. */
        @WithDefault("65536")
        @Min(1)
        int queueCapacity();

        /**
         * Log messages published but not yet acknowledged, at most. While the pipeline is full,
         * committed transactions wait and go out together: the batch grows with the load.
         */
        @WithDefault("4")
        @Min(1)
        int maxInflight();

        /**
         * Shortest time between two log messages while commits arrive in company (see
         * {@link #minIntervalAfter()}). A transaction committed sooner than this after the last message
         * waits (at most this long) and goes out with everything committed meanwhile: a busy
         * coordinator sends fuller, fewer messages. 0: publish whenever the pipeline has room.
         */
        @WithDefault("1ms")
        @DurationMin(nanos = 0)
        Duration minInterval();

        /**
         * The interval applies only after a message that carried at least this many transactions: a
         * lone commit after a lone commit (one client committing in sequence) never waits.
         */
        @WithDefault("4")
        @Min(1)
        int minIntervalAfter();

        /** Appends with an unknown outcome are retried this often (same message id). */
        @WithDefault("3")
        @Min(0)
        int retries();

        /**
         * A commit not answered within this gets 504 TIMEOUT: its outcome is not known, it may still be
         * made, so retry under the same id (or read before retrying without one). One still waiting for
         * its id's lookup in the store gets 503 instead, with nothing committed.
         */
        @WithDefault("10s")
        @DurationMin(millis = 1)
        Duration timeout();

        /**
         * Committed writes the coordinator's own applier has not yet made durable in PostgreSQL are
         * held in memory (reads must see them); past this estimated size, e.g. {@code 256M}, new
         * commits get 503 until the database catches up. Absent: a quarter of the maximum heap.
         */
        Optional<MemorySize> maxUnappliedBytes();

        /**
         * Idempotency ids whose outcomes the coordinator keeps in memory; older ones are answered by
         * the database once it has stored them (never forgotten before). While twice this many are
         * held unstored, commits with an id get 503.
         */
        @WithDefault("100000")
        @Min(1)
        int rememberedIds();
    }

    interface Apply {
        /** Log messages applied per database transaction, at most. */
        @WithDefault("64")
        @Min(1)
        int batchMessages();

        /**
         * Dead-letter subject for messages that cannot be decoded. Not under the log's subjects
         * ({@code mirror.log.>}): the stream would take each parked copy in as a log message, which
         * every node parks again, and the log grows without end.
         */
        @WithDefault("mirror.deadletter")
        @Pattern(regexp = "(?!mirror\\.log\\.)[^\\s*>]+", message = "must be a NATS subject without wildcards, "
                + "outside the log's subjects mirror.log.>")
        String deadLetterSubject();

        /**
         * Keys (present or known absent) held in the node's read cache in front of PostgreSQL, kept
         * current by the applier (both roles); at a mirror it also bounds the learned write rates.
         */
        @WithDefault("262144")
        @Min(1)
        int cacheKeys();

        /**
         * Estimated heap the read cache may hold (values, keys and a fixed overhead per entry), e.g.
         * {@code 256M}; absent: a quarter of the maximum heap. Reached before {@link #cacheKeys}, it
         * evicts (and the cache is no longer complete).
         */
        Optional<MemorySize> cacheBytes();

        /**
         * When a fetch returns fewer than {@link #batchMessages} messages, wait this long for more
         * before applying, so that one database transaction carries more commits (0: apply at once).
         * For the coordinator, whose reads do not wait for its applier (recent writes are in memory);
         * at a mirror it would add to the replication lag.
         */
        @WithDefault("0ms")
        @DurationMin(nanos = 0)
        java.time.Duration gather();

        /**
         * How long the store keeps a committed transaction's idempotency id (its outcome and procedure
         * result), from when it was stored; 0 keeps them for ever. Without a bound, {@code txn_ids} grows by a
         * row for every commit under an id, for ever. A retry under an id older than this is a new
         * transaction.
         */
        @WithDefault("7d")
        @DurationMin(nanos = 0)
        java.time.Duration idRetention();

        /**
         * Longest wait for one of the applier's database transactions or queries; past it the applier
         * starts again from the position the database holds, on another connection. A connection whose
         * peer went away without a reset (a network path that died, a server replaced behind the same
         * address) never answers, and the applier waited on it for good: nothing applied, the
         * coordinator's memory filling until every commit got 503, and readiness saying UP.
         */
        @WithDefault("60s")
        @DurationMin(seconds = 1)
        java.time.Duration transactionTimeout();

        /**
         * How long a statement waits for one of the reactive pool's connections (all in use, or
         * PostgreSQL slow to accept one) before it fails, and its request with it (503). Vert.x's default;
         * Quarkus has no key for it ({@link io.presage.apply.StorePool}).
         */
        @WithDefault("30s")
        @DurationMin(millis = 1)
        java.time.Duration connectionWait();
    }

    interface Mirror {
        /**
         * Base URL of the coordinator that writes are forwarded to and reconciliations asked of (loopback
         * or the DC link); with a standby coordinator, every coordinator's URL, separated by commas: calls
         * go to the one that is READY.
         */
        @WithDefault("http://127.0.0.1:8080")
        @NotBlank
        String coordinatorUrl();

        /** Readiness fails while the replication lag is above this many seconds. */
        @WithDefault("5")
        @DecimalMin("0")
        double maxLagSeconds();


        /** How long a read with {@code after} waits for the mirror to apply that position when it gives no timeoutMs. */
        @WithDefault("5s")
        @DurationMin(nanos = 0)
        Duration causalTimeout();

        /** Largest timeoutMs a read may ask for. */
        @WithDefault("60000")
        @Min(0)
        long maxTimeoutMs();

        /** Answer time allowed to the coordinator for a forwarded write or a reconciliation; then 503. */
        @WithDefault("10s")
        @DurationMin(millis = 1)
        Duration forwardTimeout();

        /** Share of local reads whose currency is checked afterwards against the log (0 = none, 1 = all). */
        @WithDefault("0.01")
        @DecimalMin("0") @DecimalMax("1")
        double calibrationSampleRate();

        /** How far past a sampled read the mirror must have applied before the read counts as current. */
        @WithDefault("250ms")
        @DurationMin(nanos = 0)
        Duration calibrationMargin();

        /** File that resolved calibration samples are appended to as JSON lines; none when unset. */
        Optional<String> calibrationLog();

        /** Half-life of the decayed per-key write rates the confidence is computed from. */
        @WithDefault("60s")
        @DurationMin(millis = 1)
        Duration rateHalfLife();

        /** Speculative transactions in flight at once (not yet committed or rolled back); more get 503. */
        @WithDefault("10000")
        @Min(1)
        int speculationMaxPending();

        /**
         * Estimated memory of the speculative transactions in flight at once, e.g. {@code 256M}; past it,
         * more get 503 (one alone is always taken). Absent: a quarter of the maximum heap. The count alone
         * let 10,000 transactions of up to {@code presage.limits.txn-bytes} each wait out a coordinator outage.
         */
        Optional<MemorySize> speculationMaxPendingBytes();

        /** How long a finished speculation's outcome stays at {@code GET /v1/transactions/{id}} (at most 100,000 kept). */
        @WithDefault("10m")
        @DurationMin(millis = 1)
        Duration speculationRetention();

        /**
         * How long a speculation's re-execution waits for this mirror's earlier ones on its keys while the
         * coordinator answers; then they are taken as stuck and overtaken.
         */
        @WithDefault("10s")
        @DurationMin(millis = 1)
        Duration speculationTurnWait();

        Prediction prediction();
    }

    /**
     * The prediction engine (DESIGN §7, {@code io.presage.predict}): learns which key a session reads
     * after which, from reads that name their session ({@code Presage-Session} header), and prefetches
     * the likely next keys from the coordinator while that can make them more certain than the log does.
     */
    interface Prediction {
        /** Learn from sessions' reads and prefetch; off: the header is ignored. */
        @WithDefault("true")
        boolean enabled();

        /** Prefetch a predicted key only if it follows the key just read at least this often. */
        @WithDefault("0.5")
        @DecimalMin("0") @DecimalMax("1")
        double minProbability();

        /** Prefetch a predicted key only while its confidence is below this (a high one needs no help). */
        @WithDefault("0.99")
        @DecimalMin("0") @DecimalMax("1")
        double belowConfidence();

        /** Transitions observed this long ago count half. */
        @WithDefault("5m")
        @DurationMin(millis = 1)
        Duration halfLife();

        /** Keys the model keeps successors for, and sessions it follows. */
        @WithDefault("100000")
        @Min(1)
        int maxKeys();

        /** Two reads of a session further apart than this are not taken as one following the other. */
        @WithDefault("30s")
        @DurationMin(millis = 1)
        Duration sessionGap();
    }
}
