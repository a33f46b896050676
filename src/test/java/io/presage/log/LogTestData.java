package io.presage.log;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.protobuf.ByteString;
import io.presage.log.proto.Batch;
import io.presage.log.proto.Txn;
import io.presage.log.proto.Write;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/** Batches, hand-made envelopes and jqwik generators shared by the log format tests. */
final class LogTestData {
    private LogTestData() {
    }

    static byte[] json(String s) {
        return s.getBytes(UTF_8);
    }

    static LogTxn txn(long timestamp, String id, LogWrite... writes) {
        return new LogTxn(timestamp, id, false, "mirror-1", List.of(writes), Map.of(), List.of());
    }

    static LogBatch batch(LogTxn... txns) {
        return LogBatch.of("coord-1", 3, 0, 17, List.of(txns));
    }

    /** A value of {@code bytes} bytes of valid, very repetitive JSON: LZ4 shrinks it a lot. */
    static byte[] compressibleJson(int bytes) {
        StringBuilder sb = new StringBuilder("[");
        while (sb.length() < bytes - 20) {
            sb.append("{\"qty\":1,\"sku\":\"A\"},");
        }
        sb.setLength(sb.length() - 1);
        return json(sb.append(']').toString());
    }

    /** A message body with the given envelope fields in front of {@code body}, valid or not. */
    static byte[] envelope(String magic, int version, int compression, long declaredLength, byte[] body) {
        ByteBuffer b = ByteBuffer.allocate(BatchCodec.HEADER_BYTES + body.length);
        b.put(magic.getBytes(UTF_8), 0, 4);
        b.put((byte) version).put((byte) compression).putInt((int) declaredLength).put(body);
        return b.array();
    }

    /** An uncompressed, otherwise well-formed message around raw protobuf bytes. */
    static byte[] uncompressed(byte[] protobuf) {
        return envelope("PSG1", BatchCodec.ENVELOPE_VERSION, BatchCodec.COMPRESSION_NONE, protobuf.length, protobuf);
    }

    /** The same batch built with the protoc-generated classes: an encoder independent of ours. */
    static Batch generated(LogBatch b) {
        Batch.Builder batch = Batch.newBuilder()
                .setFormatVersion(b.formatVersion())
                .setCoordinatorId(b.coordinatorId())
                .setEpoch(b.epoch())
                .setPartition(b.partition())
                .setBatchId(b.batchId());
        for (LogTxn t : b.txns()) {
            Txn.Builder txn = Txn.newBuilder()
                    .setTimestamp(t.timestamp())
                    .setId(t.id() == null ? "" : t.id())
                    .setAdjusted(t.adjusted())
                    .setOrigin(t.origin())
                    .putAllVclock(t.vclock())
                    .addAllReadKeys(t.readKeys())
                    .setResult(t.result() == null ? "" : t.result());
            for (LogWrite w : t.writes()) {
                txn.addWrites(Write.newBuilder()
                        .setKey(w.key())
                        .setValueJson(w.delete() ? ByteString.EMPTY : ByteString.copyFrom(w.valueJson()))
                        .setDelete(w.delete()));
            }
            batch.addTxns(txn);
        }
        return batch.build();
    }

    // ---- jqwik generators ----

    /** Strings of any valid Unicode, supplementary planes included, biased towards ASCII. */
    static Arbitrary<String> unicodeStrings(int maxLength) {
        Arbitrary<Integer> codePoint = Arbitraries.frequencyOf(
                Tuple.of(6, Arbitraries.integers().between(0x20, 0x7E)),
                Tuple.of(2, Arbitraries.integers().between(0, 0xD7FF)),
                Tuple.of(1, Arbitraries.integers().between(0xE000, 0x10FFFF)));
        return codePoint.list().ofMaxSize(maxLength).map(cps -> {
            StringBuilder sb = new StringBuilder();
            cps.forEach(sb::appendCodePoint);
            return sb.toString();
        });
    }

    static Arbitrary<byte[]> values() {
        return Arbitraries.oneOf(
                Arbitraries.bytes().array(byte[].class).ofMaxSize(64),
                Arbitraries.bytes().array(byte[].class).ofMaxSize(2_000),
                Arbitraries.integers().between(0, 5_000).map(LogTestData::compressibleJson));
    }

    static Arbitrary<LogWrite> writes() {
        Arbitrary<String> keys = unicodeStrings(24);
        return Arbitraries.oneOf(
                Combinators.combine(keys, values()).as(LogWrite::put),
                keys.map(LogWrite::remove));
    }

    static Arbitrary<LogTxn> txns() {
        Arbitrary<String> ids = unicodeStrings(16).injectNull(0.3);
        return Combinators.combine(
                Arbitraries.longs(),
                ids,
                Arbitraries.of(true, false),
                unicodeStrings(12),
                writes().list().ofMaxSize(6),
                Arbitraries.maps(unicodeStrings(8), Arbitraries.longs()).ofMaxSize(4),
                unicodeStrings(24).list().ofMaxSize(5),
                unicodeStrings(20).injectNull(0.6)) // a procedure attempt's result, as text
                .as(LogTxn::new);
    }

    static Arbitrary<LogBatch> batches() {
        return Combinators.combine(
                unicodeStrings(12),
                Arbitraries.longs(),
                Arbitraries.integers(),
                Arbitraries.longs(),
                txns().list().ofMaxSize(8))
                .as((coordinator, epoch, partition, batchId, txns) ->
                        LogBatch.of(coordinator, epoch, partition, batchId, txns));
    }
}
