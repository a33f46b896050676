package io.presage.log;

import java.util.Map;

import com.google.protobuf.Internal;

/**
 * What a decoded batch must hold before a node applies it or rebuilds certification from it: the
 * invariants every batch a Presage coordinator writes keeps (its API refuses anything else), and that
 * the wire format alone does not enforce. {@link BatchCodec} decodes whatever the format can carry, so
 * that a consumer in another language and the codec's tests see the same thing; a message that breaks
 * these is treated as one that cannot be decoded: parked by the applier, a stop for recovery.
 *
 * <p>Without the check such a message either stopped the applier for good (PostgreSQL's text refuses
 * U+0000, so the chunk's transaction failed and was tried again, without end, and nothing was parked),
 * or was applied as something else than it said: a version of 0 reads as "absent", a negative one never
 * wins over the stored row, a value that is not UTF-8 was stored with U+FFFD in place of its bytes
 * while the coordinator's memory kept the bytes, and an empty value was served as {@code "value":,}.
 */
public final class ApplicableBatch {
    private ApplicableBatch() {
    }

    /** {@code batch} itself, if a node may apply it; else why not. */
    public static LogBatch check(LogBatch batch) throws LogDecodeException {
        for (int i = 0; i < batch.txns().size(); i++) {
            LogTxn t = batch.txns().get(i);
            if (t.timestamp() <= 0) {
                throw refused(i, "has timestamp " + Long.toUnsignedString(t.timestamp())
                        + " (versions are positive: 0 means absent)");
            }
            text(i, "id", t.id());
            text(i, "origin", t.origin());
            text(i, "result", t.result());
            for (Map.Entry<String, Long> e : t.vclock().entrySet()) {
                text(i, "vector clock node", e.getKey());
            }
            for (String k : t.readKeys()) {
                text(i, "read key", k);
            }
            for (LogWrite w : t.writes()) {
                if (w.key().isEmpty()) {
                    throw refused(i, "writes an empty key");
                }
                text(i, "key", w.key());
                if (!w.delete()) {
                    if (w.valueJson().length == 0) {
                        throw refused(i, "writes an empty value to key '" + w.key() + "' (a value is JSON text)");
                    }
                    // protobuf's own validator (what it checks proto3 strings with): no copy, no decoding.
                    if (!Internal.isValidUtf8(w.valueJson())) {
                        throw refused(i, "writes a value to key '" + w.key() + "' that is not UTF-8 text");
                    }
                }
            }
        }
        return batch;
    }

    /** PostgreSQL's text (and jsonb) refuses U+0000; the API refuses every control character. */
    private static void text(int txn, String what, String s) throws LogDecodeException {
        if (s != null && s.indexOf('\u0000') >= 0) {
            throw refused(txn, "has a " + what + " with U+0000 in it");
        }
    }

    private static LogDecodeException refused(int txn, String why) {
        return new LogDecodeException("transaction " + txn + " of the batch " + why
                + ": not something a Presage coordinator writes; not applied");
    }
}
