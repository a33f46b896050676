package io.presage.log;

import static io.presage.log.LogTestData.batch;
import static io.presage.log.LogTestData.envelope;
import static io.presage.log.LogTestData.generated;
import static io.presage.log.LogTestData.json;
import static io.presage.log.LogTestData.txn;
import static io.presage.log.LogTestData.uncompressed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.presage.log.proto.Batch;
import io.presage.log.proto.Txn;
import io.presage.log.proto.Write;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;

import org.junit.jupiter.api.Test;

/**
 * A message decodes into at most {@link BatchCodec#MAX_READ_ELEMENTS} transactions, writes, read keys
 * and vector-clock entries: exactly that many decode, one more is refused as malformed before protobuf
 * builds any of them. The encoder writes at most {@link BatchCodec#MAX_ELEMENTS}, and what coordinators
 * wrote before that bound is still read. The bytes of a message do not bound its objects: LZ4 lets a
 * few hundred kilobytes declare tens of millions of empty transactions.
 */
class BatchElementBoundTest {
    private static final int MAX = BatchCodec.MAX_READ_ELEMENTS;
    private final BatchCodec codec = new BatchCodec();

    private static Batch.Builder header() {
        return Batch.newBuilder().setFormatVersion(1).setCoordinatorId("c");
    }

    /** One transaction at timestamp 1 holding {@code n} of one kind of element. */
    private static byte[] oneTxnWith(int n, IntFunction<Txn.Builder> kind) {
        return uncompressed(header().addTxns(kind.apply(n).setTimestamp(1)).build().toByteArray());
    }

    private void assertRefused(byte[] message) {
        LogDecodeException e = assertThrows(LogDecodeException.class, () -> codec.decode(message));
        assertTrue(e.getMessage().contains("more than " + MAX + " elements"), e.getMessage());
    }

    @Test
    void aBatchOfTheBoundInTransactionsDecodesAndOneMoreIsRefused() throws Exception {
        Batch.Builder atBound = header();
        for (int i = 0; i < MAX; i++) {
            atBound.addTxns(Txn.getDefaultInstance());
        }
        assertEquals(MAX, codec.decode(uncompressed(atBound.build().toByteArray())).txns().size());
        assertRefused(uncompressed(atBound.addTxns(Txn.getDefaultInstance()).build().toByteArray()));
    }

    @Test
    void writesReadKeysAndClockEntriesCountTowardsTheBound() throws Exception {
        IntFunction<Txn.Builder> writes = n -> {
            Txn.Builder t = Txn.newBuilder();
            for (int i = 0; i < n; i++) {
                t.addWrites(Write.newBuilder().setKey("k" + i).setValueJson(ByteString.copyFromUtf8("1")));
            }
            return t;
        };
        IntFunction<Txn.Builder> readKeys = n -> {
            Txn.Builder t = Txn.newBuilder();
            for (int i = 0; i < n; i++) {
                t.addReadKeys("k" + i);
            }
            return t;
        };
        IntFunction<Txn.Builder> clock = n -> {
            Map<String, Long> entries = new HashMap<>();
            for (int i = 0; i < n; i++) {
                entries.put("n" + i, 1L);
            }
            return Txn.newBuilder().putAllVclock(entries);
        };
        // The transaction itself is one element.
        assertEquals(MAX - 1, codec.decode(oneTxnWith(MAX - 1, writes)).txns().get(0).writes().size());
        assertRefused(oneTxnWith(MAX, writes));
        assertEquals(MAX - 1, codec.decode(oneTxnWith(MAX - 1, readKeys)).txns().get(0).readKeys().size());
        assertRefused(oneTxnWith(MAX, readKeys));
        assertEquals(MAX - 1, codec.decode(oneTxnWith(MAX - 1, clock)).txns().get(0).vclock().size());
        assertRefused(oneTxnWith(MAX, clock));
    }

    @Test
    void elementsAreCountedAcrossTransactions() {
        Batch.Builder b = header();
        for (int i = 0; i < 4; i++) { // 4 × (1 + MAX / 4 - 1 writes + 1 read key) = MAX + 4
            Txn.Builder t = Txn.newBuilder().setTimestamp(1).addReadKeys("r");
            for (int w = 0; w < MAX / 4 - 1; w++) {
                t.addWrites(Write.newBuilder().setKey("k").setValueJson(ByteString.copyFromUtf8("1")));
            }
            b.addTxns(t);
        }
        assertRefused(uncompressed(b.build().toByteArray()));
    }

    @Test
    void aFewHundredKilobytesOfLz4DeclaringMillionsOfEmptyTransactionsAreRefusedBeforeAnyIsBuilt() {
        // The whole 64 MiB payload: format_version 1, then empty transactions (field 5, length 0).
        byte[] payload = new byte[BatchCodec.MAX_PAYLOAD_BYTES];
        payload[0] = 0x08;
        payload[1] = 0x01;
        for (int i = 2; i + 1 < payload.length; i += 2) {
            payload[i] = 0x2A;
        }
        LZ4Compressor lz4 = LZ4Factory.fastestJavaInstance().fastCompressor();
        byte[] block = new byte[lz4.maxCompressedLength(payload.length)];
        int size = lz4.compress(payload, 0, payload.length, block, 0, block.length);
        assertTrue(size < 300_000, "the bomb compresses to " + size + " bytes");
        assertRefused(envelope("PSG1", 1, BatchCodec.COMPRESSION_LZ4, payload.length, Arrays.copyOf(block, size)));
    }

    @Test
    void theEncoderWritesItsBoundAndRefusesMore() throws Exception {
        int most = BatchCodec.MAX_ELEMENTS;
        List<LogTxn> txns = new ArrayList<>();
        // txn(...) has no read keys and no clock entries: one element, plus one per write.
        for (int i = 0; i < most / 2; i++) {
            txns.add(txn(i + 1, null, LogWrite.put("k" + i, json("1"))));
        }
        LogBatch atBound = batch(txns.toArray(LogTxn[]::new));
        assertEquals(most / 2, codec.decode(codec.encode(atBound)).txns().size());
        txns.add(txn(most, null));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> codec.encode(batch(txns.toArray(LogTxn[]::new))));
        assertTrue(e.getMessage().contains("at most " + most), e.getMessage());
    }

    @Test
    void aMessageACoordinatorWroteBeforeTheWritersBoundIsStillRead() throws Exception {
        // Split by estimated bytes only (900,000 by default): 81 read-only transactions of 1,000 one-character
        // read keys each are 81 × 11,136 estimated bytes, one message of 81,162 elements.
        Batch.Builder b = header();
        for (int i = 0; i < 81; i++) {
            Txn.Builder t = Txn.newBuilder().setTimestamp(i + 1).setOrigin("mirror-1").putVclock("mirror-1", i + 1);
            for (int k = 0; k < 1_000; k++) {
                t.addReadKeys(String.valueOf((char) ('\u4e00' + k)));
            }
            b.addTxns(t);
        }
        LogBatch read = codec.decode(uncompressed(b.build().toByteArray()));
        assertEquals(81, read.txns().size());
        assertTrue(81 * 1_002 > BatchCodec.MAX_ELEMENTS, "more than this code writes in one message");
    }

    @Test
    void aStrayEndGroupTagAfterTheBatchIsStillRefused() {
        byte[] valid = generated(batch(txn(1, "id", LogWrite.put("k", json("1"))))).toByteArray();
        byte[] withEndGroup = Arrays.copyOf(valid, valid.length + 1);
        withEndGroup[valid.length] = 0x3C; // field 7, wire type 4: an end-group tag nothing opened
        LogDecodeException e = assertThrows(LogDecodeException.class, () -> codec.decode(uncompressed(withEndGroup)));
        assertTrue(e.getMessage().contains("not a valid presage.log.v1.Batch"), e.getMessage());
    }
}
