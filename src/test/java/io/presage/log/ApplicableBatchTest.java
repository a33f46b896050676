package io.presage.log;

import static io.presage.log.LogTestData.batch;
import static io.presage.log.LogTestData.json;
import static io.presage.log.LogTestData.txn;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * Batches the codec decodes but no Presage coordinator writes: each is refused, naming what is wrong,
 * and what a coordinator does write (unicode, deletes, ids, results, vector clocks) passes as it is.
 */
class ApplicableBatchTest {

    @Test
    void whatACoordinatorWritesPassesUnchanged() throws Exception {
        LogTxn t = new LogTxn(7, "call#0", true, "eu-1",
                List.of(LogWrite.put("clé/日本語/😀", json("{\"name\":\"Zoë\"}")), LogWrite.remove("gone")),
                Map.of("eu-1", 7L, "coordinator", 3L), List.of("clé/日本語/😀"), "{\"n\":1}");
        LogBatch b = batch(t, txn(Long.MAX_VALUE, null, LogWrite.put("k", json("1"))));
        assertSame(b, ApplicableBatch.check(b));
        LogBatch empty = batch();
        assertSame(empty, ApplicableBatch.check(empty), "an empty batch (a barrier) too");
    }

    @Test
    void aTimestampOfZeroOrWithTheTopBitSetIsRefused() {
        refused(batch(txn(0, null, LogWrite.put("k", json("1")))), "timestamp 0");
        refused(batch(txn(-1, null, LogWrite.put("k", json("1")))), "timestamp 18446744073709551615");
        refused(batch(txn(Long.MIN_VALUE, null)), "timestamp 9223372036854775808");
    }

    @Test
    void aNulCharacterAnywhereThatIsStoredAsTextIsRefused() {
        refused(batch(txn(1, null, LogWrite.put("a\u0000b", json("1")))), "key with U+0000");
        refused(batch(txn(1, "id\u0000", LogWrite.put("k", json("1")))), "id with U+0000");
        refused(batch(new LogTxn(1, null, false, "o\u0000", List.of(), Map.of(), List.of())), "origin with U+0000");
        refused(batch(new LogTxn(1, null, false, "", List.of(), Map.of("n\u0000", 1L), List.of())),
                "vector clock node with U+0000");
        refused(batch(new LogTxn(1, null, false, "", List.of(), Map.of(), List.of("r\u0000"))), "read key with U+0000");
        refused(batch(new LogTxn(1, "x#0", false, "", List.of(), Map.of(), List.of(), "\"\u0000\"")),
                "result with U+0000");
    }

    @Test
    void anEmptyKeyAnEmptyValueOrAValueThatIsNotUtf8IsRefused() {
        refused(batch(txn(1, null, LogWrite.put("", json("1")))), "empty key");
        refused(batch(txn(1, null, LogWrite.remove(""))), "empty key");
        refused(batch(txn(1, null, LogWrite.put("k", new byte[0]))), "empty value");
        refused(batch(txn(1, null, LogWrite.put("k", new byte[] {'"', (byte) 0xC3, '"'}))), "not UTF-8");
        refused(batch(txn(1, null, LogWrite.put("k", new byte[] {'"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"'}))),
                "not UTF-8"); // an encoded surrogate
    }

    @Test
    void theRefusalNamesTheTransactionInTheBatch() {
        LogBatch b = batch(txn(1, null, LogWrite.put("ok", json("1"))), txn(2, null, LogWrite.put("k", new byte[0])));
        refused(b, "transaction 1 of the batch");
    }

    private static void refused(LogBatch b, String says) {
        LogDecodeException e = assertThrows(LogDecodeException.class, () -> ApplicableBatch.check(b));
        assertTrue(e.getMessage().contains(says), e.getMessage());
    }
}
