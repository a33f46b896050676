package io.presage.log;

import static io.presage.log.LogTestData.batch;
import static io.presage.log.LogTestData.compressibleJson;
import static io.presage.log.LogTestData.json;
import static io.presage.log.LogTestData.txn;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.Test;

class BatchCodecRoundTripTest {
    private final BatchCodec codec = new BatchCodec();

    private LogBatch roundTrip(LogBatch b) throws LogDecodeException {
        LogBatch back = codec.decode(codec.encode(b));
        assertEquals(b, back);
        return back;
    }

    @Test
    void anEmptyBatchRoundTripsInASmallUncompressedMessage() throws Exception {
        LogBatch empty = batch();
        byte[] message = codec.encode(empty);
        assertArrayEquals(new byte[] {'P', 'S', 'G', '1', 1, 0}, Arrays.copyOf(message, 6));
        assertEquals(message.length - BatchCodec.HEADER_BYTES,
                ((message[6] & 0xFF) << 24) | ((message[7] & 0xFF) << 16) | ((message[8] & 0xFF) << 8) | (message[9] & 0xFF),
                "the header declares the payload length");
        assertTrue(message.length < 40, "an empty batch is a few bytes: " + message.length);
        assertEquals(List.of(), roundTrip(empty).txns());
    }

    @Test
    void aDeleteRoundTripsAsADeleteWithoutValue() throws Exception {
        LogBatch b = batch(txn(100, "c-1", LogWrite.remove("users/7"), LogWrite.put("users/8", json("{}"))));
        LogWrite delete = roundTrip(b).txns().get(0).writes().get(0);
        assertTrue(delete.delete());
        assertNull(delete.valueJson());
    }

    @Test
    void anEmptyValueIsAWriteOfNothingNotADelete() throws Exception {
        LogWrite w = roundTrip(batch(txn(1, null, LogWrite.put("k", new byte[0])))).txns().get(0).writes().get(0);
        assertEquals(false, w.delete());
        assertArrayEquals(new byte[0], w.valueJson());
    }

    @Test
    void unicodeKeysIdsOriginsAndVclockNodesRoundTrip() throws Exception {
        LogTxn t = new LogTxn(5, "idé-😀", true, "nœud-東京",
                List.of(LogWrite.put("clé/ünïcödé/𝄞/\u0000/日本語", json("{\"name\":\"Zoë 😀\"}"))),
                Map.of("nœud-東京", 4L, "ноль", 0L),
                List.of("лево/𝄞", ""));
        // The vector clock as sent, every node of it (not only equal to the copy LogTxn made of it).
        assertEquals(Map.of("nœud-東京", 4L, "ноль", 0L), roundTrip(batch(t)).txns().get(0).vclock());
    }

    @Test
    void aPayloadOverSixtyFourKibibytesDeclaresItsFullLength() throws Exception {
        // Incompressible, so that the payload itself is over 2^16 bytes and the length's third byte counts.
        byte[] noise = new byte[300_000];
        new Random(2).nextBytes(noise);
        LogBatch b = batch(txn(9, null, LogWrite.put("blob", noise)));
        byte[] message = codec.encode(b);
        long declared = ((message[6] & 0xFFL) << 24) | ((message[7] & 0xFFL) << 16) | ((message[8] & 0xFFL) << 8) | (message[9] & 0xFFL);
        assertEquals(message.length - BatchCodec.HEADER_BYTES, declared);
        assertTrue(declared > 1 << 16);
        assertEquals(b, codec.decode(message));
    }

    @Test
    void largeCompressibleValuesAreLz4CompressedAndRoundTrip() throws Exception {
        LogBatch b = batch(txn(9, "big", LogWrite.put("orders/1", compressibleJson(50_000))));
        byte[] message = codec.encode(b);
        assertEquals(BatchCodec.COMPRESSION_LZ4, message[5]);
        assertTrue(message.length < 10_000, "50 kB of repetitive JSON compresses: " + message.length);
        assertEquals(b, codec.decode(message));
    }

    @Test
    void aPayloadThatLz4CannotShrinkIsStoredUncompressed() throws Exception {
        byte[] noise = new byte[4_000];
        new Random(1).nextBytes(noise);
        LogBatch b = batch(txn(9, null, LogWrite.put("blob", noise)));
        byte[] message = codec.encode(b);
        assertEquals(BatchCodec.COMPRESSION_NONE, message[5]);
        assertEquals(b, codec.decode(message));
    }

    @Test
    void payloadsAtOrBelowTheThresholdAreNeverCompressed() throws Exception {
        BatchCodec neverCompresses = new BatchCodec(Integer.MAX_VALUE);
        BatchCodec alwaysTries = new BatchCodec(0);
        LogBatch b = batch(txn(9, null, LogWrite.put("orders/1", compressibleJson(5_000))));
        assertEquals(BatchCodec.COMPRESSION_NONE, neverCompresses.encode(b)[5]);
        assertEquals(BatchCodec.COMPRESSION_LZ4, alwaysTries.encode(b)[5]);
        assertEquals(b, codec.decode(neverCompresses.encode(b)));
        assertEquals(b, codec.decode(alwaysTries.encode(b)));
    }

    @Test
    void aMissingIdRoundTripsAsNullAndAnEmptyIdMeansNone() throws Exception {
        assertNull(roundTrip(batch(txn(1, null))).txns().get(0).id());
        assertNull(txn(1, "").id(), "the wire cannot tell an empty id from none");
    }

    @Test
    void unsignedFieldsKeepAllTheirBitsUpToTheMaximum() throws Exception {
        LogTxn t = new LogTxn(-1L, null, false, "", List.of(), Map.of("n", Long.MIN_VALUE), List.of());
        LogBatch b = new LogBatch(1, "", -1L, -1, Long.MIN_VALUE, List.of(t));
        roundTrip(b);
        roundTrip(new LogBatch(1, "", 0, 0, 0, List.of(new LogTxn(0, null, false, "", List.of(), Map.of("", 0L),
                List.of("")))));
    }

    @Test
    void manyTransactionsWithVclocksAndReadSetsRoundTrip() throws Exception {
        LogTxn[] txns = new LogTxn[500];
        for (int i = 0; i < txns.length; i++) {
            txns[i] = new LogTxn(1_000L + i, "c-" + i, i % 7 == 0, "mirror-" + (i % 3),
                    List.of(LogWrite.put("k/" + i, json("{\"v\":" + i + "}")), LogWrite.remove("k/" + (i + 1))),
                    Map.of("mirror-0", (long) i, "mirror-1", i * 2L), List.of("k/" + i, "k/" + (i - 1)));
        }
        roundTrip(batch(txns));
    }

    @Test
    void equalBatchesEncodeToEqualBytesWhateverTheVclockMapOrder() {
        Map<String, Long> forward = new LinkedHashMap<>();
        Map<String, Long> backward = new LinkedHashMap<>();
        for (int i = 0; i < 20; i++) {
            forward.put("node-" + i, (long) i);
            backward.put("node-" + (19 - i), (long) (19 - i));
        }
        LogTxn a = new LogTxn(1, null, false, "o", List.of(), forward, List.of());
        LogTxn b = new LogTxn(1, null, false, "o", List.of(), new HashMap<>(backward), List.of());
        assertArrayEquals(codec.encode(batch(a)), codec.encode(batch(b)));
    }

    @Test
    void encodingRefusesAStringWithAnUnpairedSurrogateInsteadOfManglingIt() {
        LogBatch b = batch(txn(1, null, LogWrite.put("bad\uD800key", json("1"))));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> codec.encode(b));
        assertTrue(e.getMessage().contains("unpaired surrogate"), e.getMessage());
    }

    @Test
    void encodingRefusesAFormatVersionItDoesNotWrite() {
        assertThrows(IllegalArgumentException.class,
                () -> codec.encode(new LogBatch(BatchCodec.FORMAT_VERSION + 1, "c", 0, 0, 0, List.of())));
        assertThrows(IllegalArgumentException.class, () -> codec.encode(new LogBatch(0, "c", 0, 0, 0, List.of())));
    }

    @Test
    void encodingRefusesABatchOverThePayloadLimitBeforeWritingIt() {
        LogBatch huge = batch(txn(1, null, LogWrite.put("k", new byte[BatchCodec.MAX_PAYLOAD_BYTES])));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> codec.encode(huge));
        assertTrue(e.getMessage().contains("limit"), e.getMessage());
    }

    @Test
    void writesAreEqualByValueContentNotArrayIdentity() {
        assertEquals(LogWrite.put("k", json("{\"a\":1}")), LogWrite.put("k", json("{\"a\":1}")));
        assertEquals(LogWrite.put("k", json("{\"a\":1}")).hashCode(), LogWrite.put("k", json("{\"a\":1}")).hashCode());
        assertNotEquals(LogWrite.put("k", json("{\"a\":1}")), LogWrite.put("k", json("{\"a\":2}")));
        assertNotEquals(LogWrite.put("k", new byte[0]), LogWrite.remove("k"));
        assertEquals(LogWrite.remove("k"), new LogWrite("k", null, true));
    }

    @Test
    void aWriteMustCarryAValueExactlyWhenItIsNotADelete() {
        assertThrows(IllegalArgumentException.class, () -> new LogWrite("k", json("1"), true));
        assertThrows(IllegalArgumentException.class, () -> new LogWrite("k", null, false));
    }
}
