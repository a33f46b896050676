package io.presage.apply;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.smallrye.mutiny.Uni;

/** Reads of a node's materialised copy of the log (PostgreSQL). */
public interface ItemStore {

    /**
     * Several items read in one database snapshot (absent keys are left out); fails with
     * {@link TooLarge} rather than read their values if these add up to more than the configured
     * batch budget ({@code presage.limits.batch-bytes}).
     */
    Uni<Snapshot> getAll(List<String> keys);

    /**
     * The most recently written items (by log sequence), at most {@code maxKeys} and, newest first,
     * at most {@code maxBytes} of {@link ReadCache#cost} together, with the applied sequence, in one
     * snapshot: what a node loads into its read cache when it starts.
     */
    Uni<Recent> loadRecent(int maxKeys, long maxBytes);

    /** Last log sequence applied (0 if none). */
    Uni<Long> appliedSequence();

    /**
     * The identity of the log stream that sequence counts in ({@link io.presage.log.JetStreamLog.End#identity}),
     * 0 when not recorded (nothing applied yet, or applied by a build that did not record it).
     */
    Uni<Long> appliedLog();

    /**
     * The largest commit timestamp of any transaction applied, read-only ones included (0: none): at
     * least every item version in the store, so it bounds every write the log replay won't show.
     */
    Uni<Long> maxCommitTimestamp();

    /**
     * The log messages up to {@code upTo} the applier parked as undecodable and nobody has dealt with yet
     * (their rows still in {@code dead_letters}). A row is written in the transaction that moves the applied
     * position past its message, so one read after {@link #appliedSequence} covers every message up to it.
     * Rows above it are messages the applier is applying again (a build that can now decode them
     * started: see {@code Applier#reapplyParked}), which a replay from that position meets itself.
     */
    Uni<DeadLetters> deadLetters(long upTo);

    /** {@code count} parked messages, the lowest of them at {@code firstSequence} (0 when none). */
    record DeadLetters(long count, long firstSequence) {
    }

    /**
     * Blocking lookup of a key's current version (0 if absent), for the certifier's cold-key
     * question; called from the certifier thread, rarely. {@link io.presage.certify.ColdVersions#UNKNOWN}
     * when the store's applied position, read in the same statement, is below {@code atLeastSequence}:
     * the database then lost commits it had applied, and the version it holds may be one an acknowledged
     * commit overwrote.
     */
    long currentVersionBlocking(String key, long atLeastSequence);

    /** The outcome recorded for an idempotency id, or null. */
    default Uni<TxnRecord> findTxn(String id) {
        return findTxns(List.of(id)).map(found -> found.found().get(id));
    }

    /**
     * The outcomes recorded for those of these idempotency ids the store holds, by id, with the log
     * position the store had applied in the same snapshot: the ids it can answer for.
     */
    Uni<TxnLookup> findTxns(List<String> ids);

    /**
     * Deletes at most {@code limit} of the idempotency ids stored longer than {@code age} ago (by the
     * database's clock), oldest first; how many it deleted. Not by commit timestamp: an adjusted
     * commit's lies in the past, and its id went at once.
     */
    Uni<Integer> forgetIdsStoredBefore(Duration age, int limit);

    record Snapshot(List<StoredItem> items, long appliedSequence) {
    }

    /** {@code whole}: the items are every key the store holds. */
    record Recent(List<StoredItem> items, long appliedSequence, boolean whole) {
    }

    /** A batch whose values add up to more than the budget: answered 413, read in smaller batches. */
    final class TooLarge extends RuntimeException {
        private final long bytes;
        private final long limit;

        public TooLarge(long bytes, long limit) {
            super("the values asked for are " + bytes + " bytes; the limit for one answer is " + limit
                    + " (presage.limits.batch-bytes): read fewer keys at a time", null, false, false);
            this.bytes = bytes;
            this.limit = limit;
        }

        /** Throws if {@code items}' values add up to more than {@code limit}. */
        public static void check(Iterable<StoredItem> items, long limit) {
            long sum = 0;
            for (StoredItem i : items) {
                sum += valueBytes(i);
            }
            check(sum, limit);
        }

        /** Throws if {@code bytes} of values are more than {@code limit}. */
        public static void check(long bytes, long limit) {
            if (bytes > limit) {
                throw new TooLarge(bytes, limit);
            }
        }

        /** The bytes of an item's value (0: absent or deleted). */
        public static long valueBytes(StoredItem i) {
            return i == null || i.valueJson() == null ? 0 : i.valueJson().length;
        }

        public long bytes() {
            return bytes;
        }

        public long limit() {
            return limit;
        }
    }

    /** {@code result}: a procedure attempt's result as JSON text, null if it has none. */
    record TxnRecord(String id, long timestamp, boolean adjusted, long sequence, String result) {
    }

    /** {@code appliedSequence}: the store's {@code apply_state.last_seq} in the lookup's snapshot. */
    record TxnLookup(long appliedSequence, Map<String, TxnRecord> found) {
    }
}
