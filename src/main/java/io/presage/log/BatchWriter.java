package io.presage.log;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.WireFormat;
import io.presage.log.proto.Batch;
import io.presage.log.proto.Txn;
import io.presage.log.proto.Write;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Serialises a {@link LogBatch} as a protobuf {@code presage.log.v1.Batch} straight from the model
 * records, without building generated message objects (one builder, message and byte-string copy per
 * write would be the bulk of the group-commit path's garbage).
 *
 * <p>The output is byte-for-byte what the generated {@link Batch} produces with deterministic
 * serialisation: fields in number order, proto3 defaults left out, map entries with both key and
 * value, sorted by key (tests hold the two to that). Field numbers come from the generated classes,
 * so the schema stays the single source of them.
 *
 * <p>Two passes: {@link #measure} computes every nested message's length in pre-order into
 * {@link #sizes} (protobuf prefixes each embedded message with its length), {@link #write} replays
 * the same traversal reading them back. Not thread-safe; {@link BatchCodec} keeps one per thread.
 */
final class BatchWriter {
    /** Map entries are messages {@code {key = 1; value = 2}} by the protobuf spec. */
    private static final int MAP_KEY = 1;
    private static final int MAP_VALUE = 2;

    private final int maxPayload;
    /** Reused map visitors: iterating an unmodifiable map's entrySet allocates a wrapper per entry. */
    private final VclockSizer vclockSizer = new VclockSizer();
    private final VclockWriter vclockWriter = new VclockWriter();
    private int[] sizes = new int[64];
    private int count;
    private int cursor;

    BatchWriter(int maxPayload) {
        this.maxPayload = maxPayload;
    }

    /** The encoded size of {@code b}; records nested sizes for the following {@link #write}. */
    int measure(LogBatch b) {
        count = 0;
        long size = uint32Size(Batch.FORMAT_VERSION_FIELD_NUMBER, b.formatVersion())
                + stringSize(Batch.COORDINATOR_ID_FIELD_NUMBER, b.coordinatorId(), "coordinatorId")
                + uint64Size(Batch.EPOCH_FIELD_NUMBER, b.epoch())
                + uint32Size(Batch.PARTITION_FIELD_NUMBER, b.partition())
                + uint64Size(Batch.BATCH_ID_FIELD_NUMBER, b.batchId());
        List<LogTxn> txns = b.txns();
        for (int i = 0; i < txns.size(); i++) {
            size += embedded(Batch.TXNS_FIELD_NUMBER, measureTxn(txns.get(i)));
            checkLimit(size);
        }
        return checkLimit(size);
    }

    /** Writes the batch last passed to {@link #measure}; {@code out} must have exactly its size. */
    void write(LogBatch b, CodedOutputStream out) {
        cursor = 0;
        try {
            if (b.formatVersion() != 0) {
                out.writeUInt32(Batch.FORMAT_VERSION_FIELD_NUMBER, b.formatVersion());
            }
            writeString(out, Batch.COORDINATOR_ID_FIELD_NUMBER, b.coordinatorId());
            if (b.epoch() != 0) {
                out.writeUInt64(Batch.EPOCH_FIELD_NUMBER, b.epoch());
            }
            if (b.partition() != 0) {
                out.writeUInt32(Batch.PARTITION_FIELD_NUMBER, b.partition());
            }
            List<LogTxn> txns = b.txns();
            for (int i = 0; i < txns.size(); i++) {
                startEmbedded(out, Batch.TXNS_FIELD_NUMBER);
                writeTxn(txns.get(i), out);
            }
            if (b.batchId() != 0) {
                out.writeUInt64(Batch.BATCH_ID_FIELD_NUMBER, b.batchId());
            }
            out.checkNoSpaceLeft();
        } catch (IOException e) {
            // Only possible if measure and write disagree: the buffer was sized from measure.
            throw new UncheckedIOException("batch encoding overran its measured size", e);
        }
        if (cursor != count) {
            throw new IllegalStateException("batch changed between measure and write");
        }
    }

    private int measureTxn(LogTxn t) {
        int slot = reserve();
        long size = uint64Size(Txn.TIMESTAMP_FIELD_NUMBER, t.timestamp())
                + (t.id() == null ? 0 : stringSize(Txn.ID_FIELD_NUMBER, t.id(), "txn id"))
                + (t.adjusted() ? CodedOutputStream.computeBoolSize(Txn.ADJUSTED_FIELD_NUMBER, true) : 0)
                + stringSize(Txn.ORIGIN_FIELD_NUMBER, t.origin(), "origin");
        List<LogWrite> writes = t.writes();
        for (int i = 0; i < writes.size(); i++) {
            size += embedded(Txn.WRITES_FIELD_NUMBER, measureWrite(writes.get(i)));
        }
        vclockSizer.size = 0;
        t.vclock().forEach(vclockSizer);
        size += vclockSizer.size;
        List<String> readKeys = t.readKeys();
        for (int i = 0; i < readKeys.size(); i++) {
            size += CodedOutputStream.computeTagSize(Txn.READ_KEYS_FIELD_NUMBER)
                    + utf8SizeNoTag(readKeys.get(i), "read key");
        }
        if (t.result() != null) {
            size += stringSize(Txn.RESULT_FIELD_NUMBER, t.result(), "result");
        }
        return sizes[slot] = checkLimit(size);
    }

    private void writeTxn(LogTxn t, CodedOutputStream out) throws IOException {
        if (t.timestamp() != 0) {
            out.writeUInt64(Txn.TIMESTAMP_FIELD_NUMBER, t.timestamp());
        }
        if (t.id() != null) {
            out.writeString(Txn.ID_FIELD_NUMBER, t.id());
        }
        if (t.adjusted()) {
            out.writeBool(Txn.ADJUSTED_FIELD_NUMBER, true);
        }
        writeString(out, Txn.ORIGIN_FIELD_NUMBER, t.origin());
        List<LogWrite> writes = t.writes();
        for (int i = 0; i < writes.size(); i++) {
            startEmbedded(out, Txn.WRITES_FIELD_NUMBER);
            writeWrite(writes.get(i), out);
        }
        vclockWriter.out = out;
        t.vclock().forEach(vclockWriter);
        vclockWriter.out = null;
        List<String> readKeys = t.readKeys();
        for (int i = 0; i < readKeys.size(); i++) {
            out.writeString(Txn.READ_KEYS_FIELD_NUMBER, readKeys.get(i));
        }
        if (t.result() != null) {
            out.writeString(Txn.RESULT_FIELD_NUMBER, t.result());
        }
    }

    private int measureWrite(LogWrite w) {
        int slot = reserve();
        byte[] value = w.valueJson();
        long size = stringSize(Write.KEY_FIELD_NUMBER, w.key(), "key")
                + (value == null || value.length == 0
                        ? 0 : CodedOutputStream.computeByteArraySize(Write.VALUE_JSON_FIELD_NUMBER, value))
                + (w.delete() ? CodedOutputStream.computeBoolSize(Write.DELETE_FIELD_NUMBER, true) : 0);
        return sizes[slot] = checkLimit(size);
    }

    private static void writeWrite(LogWrite w, CodedOutputStream out) throws IOException {
        writeString(out, Write.KEY_FIELD_NUMBER, w.key());
        byte[] value = w.valueJson();
        if (value != null && value.length != 0) {
            out.writeByteArray(Write.VALUE_JSON_FIELD_NUMBER, value);
        }
        if (w.delete()) {
            out.writeBool(Write.DELETE_FIELD_NUMBER, true);
        }
    }

    /** Tag and length prefix of the next embedded message, in the order {@link #measure} saw them. */
    private void startEmbedded(CodedOutputStream out, int field) throws IOException {
        out.writeTag(field, WireFormat.WIRETYPE_LENGTH_DELIMITED);
        out.writeUInt32NoTag(sizes[cursor++]);
    }

    private static void writeString(CodedOutputStream out, int field, String s) throws IOException {
        if (!s.isEmpty()) {
            out.writeString(field, s);
        }
    }

    private int reserve() {
        if (count == sizes.length) {
            sizes = Arrays.copyOf(sizes, count * 2);
        }
        return count++;
    }

    /** Slots kept by the nested-size table, so a caller can drop a writer grown by a huge batch. */
    int capacity() {
        return sizes.length;
    }

    private int checkLimit(long size) {
        if (size > maxPayload) {
            throw new IllegalArgumentException(
                    "batch exceeds the log's limit of " + maxPayload + " bytes; split it into smaller batches");
        }
        return (int) size;
    }

    private static long embedded(int field, int size) {
        return CodedOutputStream.computeTagSize(field) + CodedOutputStream.computeUInt32SizeNoTag(size) + (long) size;
    }

    private static long uint32Size(int field, int value) {
        return value == 0 ? 0 : CodedOutputStream.computeUInt32Size(field, value);
    }

    private static long uint64Size(int field, long value) {
        return value == 0 ? 0 : CodedOutputStream.computeUInt64Size(field, value);
    }

    /** Size of a singular proto3 string field (left out when empty). */
    private static long stringSize(int field, String s, String what) {
        return s.isEmpty() ? 0 : CodedOutputStream.computeTagSize(field) + utf8SizeNoTag(s, what);
    }

    /** Length prefix plus UTF-8 length. */
    private static long utf8SizeNoTag(String s, String what) {
        long len = utf8Length(s, what);
        return (len > Integer.MAX_VALUE ? 5 : CodedOutputStream.computeUInt32SizeNoTag((int) len)) + len;
    }

    /**
     * UTF-8 length of {@code s}, refusing unpaired surrogates: protobuf-java would silently write them
     * as '?', turning one key into another in every mirror.
     */
    private static long utf8Length(String s, String what) {
        int n = s.length();
        long len = n;
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                continue;
            }
            if (c < 0x800) {
                len += 1;
            } else if (!Character.isSurrogate(c)) {
                len += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                len += 2; // two chars, four bytes
                i++;
            } else {
                throw new IllegalArgumentException(
                        what + " is not valid Unicode (unpaired surrogate at index " + i + "): " + s);
            }
        }
        return len;
    }

    /** Measures one map entry per call, in the order {@link VclockWriter} will write them. */
    private final class VclockSizer implements BiConsumer<String, Long> {
        long size;

        @Override
        public void accept(String node, Long timestamp) {
            int slot = reserve();
            int entry = checkLimit(CodedOutputStream.computeTagSize(MAP_KEY) + utf8SizeNoTag(node, "vclock node id")
                    + CodedOutputStream.computeUInt64Size(MAP_VALUE, timestamp));
            sizes[slot] = entry;
            size += embedded(Txn.VCLOCK_FIELD_NUMBER, entry);
        }
    }

    /** Writes map entries as messages; key and value always present, as generated code writes them. */
    private final class VclockWriter implements BiConsumer<String, Long> {
        CodedOutputStream out;

        @Override
        public void accept(String node, Long timestamp) {
            try {
                startEmbedded(out, Txn.VCLOCK_FIELD_NUMBER);
                out.writeString(MAP_KEY, node);
                out.writeUInt64(MAP_VALUE, timestamp);
            } catch (IOException e) {
                throw new UncheckedIOException("batch encoding overran its measured size", e);
            }
        }
    }
}
