package io.presage.apply;

import java.util.List;
import java.util.Map;

/**
 * What a role adds to the shared apply path: at a mirror its pre-apply buffer, validation, read cache
 * and confidence model; at the coordinator only its read cache. Without a hook the applier behaves as
 * it did before hooks existed. All methods are called on the applier's single thread, in log order.
 */
public interface ApplyHook {

    /**
     * The applier (re)starts from {@code appliedSequence}, read from the database. Anything derived
     * from earlier notifications that might not match the database (a commit whose outcome was lost
     * with the connection) must be dropped here.
     */
    void starting(long appliedSequence);

    /**
     * False when the hook needs only each chunk's final item states: the applier then skips
     * {@link #received} and {@link #validate} and passes no writes to {@link #applied}, so it builds
     * nothing per write for it (the coordinator's read cache).
     */
    default boolean followsEachWrite() {
        return true;
    }

    /**
     * A decoded message is about to be applied (pre-apply buffer): its writes are now known to the
     * node but not yet visible in its store. Called for every message of a chunk before the chunk's
     * database transaction; a failed transaction is retried with the same messages.
     */
    void received(long sequence, long timestampMillis, List<AppliedWrite> writes);

    /**
     * Validation of one incoming committed write against local state: false leaves the write out of
     * the database transaction (the local store already includes it). Called after
     * {@link #received} for the chunk, in log order.
     */
    boolean validate(AppliedWrite write);

    /**
     * The chunk is durable: {@code items} is the new state of every key it wrote (as the store now
     * holds it, vector clocks merged), {@code writes} every applied write in log order with its
     * message's timestamp, {@code sequence} the new applied position.
     */
    void applied(long sequence, long lastTimestampMillis, Map<String, StoredItem> items, List<AppliedWrite> writes);

    /**
     * The follower found the log drained (an empty pull, or a page whose last message JetStream said
     * was the last one for this consumer): everything appended so far is applied. {@code nowMillis}
     * is this node's clock at that moment.
     */
    void drained(long nowMillis);

    /**
     * One committed write as it comes out of the log.
     *
     * @param valueJson the value, null for a deletion
     * @param version the transaction's commit timestamp
     * @param vclock the transaction's vector clock
     * @param sequence the log message that carried it
     * @param timestampMillis the message's JetStream timestamp (≈ commit time)
     */
    record AppliedWrite(String key, byte[] valueJson, long version, Map<String, Long> vclock, long sequence,
            long timestampMillis) {
    }
}
