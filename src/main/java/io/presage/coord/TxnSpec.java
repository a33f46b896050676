package io.presage.coord;

import java.util.List;

/**
 * A transaction as clients send it: versions read, values written (JSON text, or null for a
 * delete), and an optional idempotency id. Validated before it gets here. {@code result}: for a
 * procedure attempt under an id, the procedure's result as JSON text, carried in the log with the
 * commit so that a retried call is answered with it (null otherwise).
 */
public record TxnSpec(String id, List<Read> reads, List<Write> writes, String origin, String result) {

    public TxnSpec(String id, List<Read> reads, List<Write> writes, String origin) {
        this(id, reads, writes, origin, null);
    }

    public record Read(String key, long version) {
    }

    /** {@code valueJson} is the value's JSON text in UTF-8; null means delete. */
    public record Write(String key, byte[] valueJson) {
        public boolean delete() {
            return valueJson == null;
        }
    }

    public static TxnSpec blind(String key, byte[] valueJson, String origin) {
        return new TxnSpec(null, List.of(), List.of(new Write(key, valueJson)), origin);
    }

    /** The same transaction under idempotency id {@code id}. */
    public TxnSpec withId(String id) {
        return new TxnSpec(id, reads, writes, origin, result);
    }
}
