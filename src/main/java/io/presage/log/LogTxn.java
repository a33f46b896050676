package io.presage.log;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * One committed transaction as the log carries it. Field meanings are those of {@code Txn} in
 * {@code src/main/proto/presage/log/v1/log.proto}.
 *
 * <p>Lists are copied into immutable lists (no copy when they already are, e.g. from
 * {@link List#of}). The vector clock is copied into an immutable map that iterates in node-id
 * order, so that equal transactions encode to equal bytes. The usual clock has one entry (the
 * coordinator gives a commit its origin's), and is then a {@link Map#of} of one entry: two objects
 * instead of the seven of a wrapped {@code TreeMap}, for every transaction built, decoded, and held
 * in the read caches and recent writes.
 *
 * @param timestamp commit timestamp (an unsigned 64-bit value; {@code Hlc} values are positive)
 * @param id the client's idempotency id, {@code null} if it gave none (an empty id means none too)
 * @param adjusted true when the certifier placed the timestamp in the past
 * @param origin the node that submitted the transaction, never null (may be empty)
 * @param writes the writes, in the order the client issued them
 * @param vclock for each node id, the highest timestamp from it the client had observed
 * @param readKeys the keys the transaction read
 * @param result a procedure attempt's result as JSON text, {@code null} if none (empty means none too)
 */
public record LogTxn(
        long timestamp,
        String id,
        boolean adjusted,
        String origin,
        List<LogWrite> writes,
        Map<String, Long> vclock,
        List<String> readKeys,
        String result) {

    public LogTxn {
        if (id != null && id.isEmpty()) {
            id = null; // the wire cannot tell "" from absent; one spelling keeps equality honest
        }
        if (result != null && result.isEmpty()) {
            result = null;
        }
        Objects.requireNonNull(origin, "origin");
        writes = List.copyOf(writes);
        vclock = sortedCopy(vclock);
        readKeys = List.copyOf(readKeys);
    }

    /** A transaction without a procedure result. */
    public LogTxn(long timestamp, String id, boolean adjusted, String origin, List<LogWrite> writes,
            Map<String, Long> vclock, List<String> readKeys) {
        this(timestamp, id, adjusted, origin, writes, vclock, readKeys, null);
    }

    private static Map<String, Long> sortedCopy(Map<String, Long> vclock) {
        if (vclock.isEmpty()) {
            return Map.of();
        }
        if (vclock.size() == 1) {
            Map.Entry<String, Long> e = vclock.entrySet().iterator().next();
            String node = Objects.requireNonNull(e.getKey(), "vclock node id");
            return Map.of(node, Objects.requireNonNull(e.getValue(), () -> "vclock timestamp of " + node));
        }
        TreeMap<String, Long> copy = new TreeMap<>();
        vclock.forEach((node, ts) -> copy.put(
                Objects.requireNonNull(node, "vclock node id"),
                Objects.requireNonNull(ts, () -> "vclock timestamp of " + node)));
        return Collections.unmodifiableSortedMap(copy);
    }
}
