package io.presage.log;

import static io.presage.log.LogTestData.compressibleJson;
import static io.presage.log.LogTestData.json;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/**
 * Messages already in a log must stay readable forever. {@code batch-v1.bin} was written by the
 * version 1 encoder and is committed; it is never regenerated to make this test pass. If a change
 * breaks this test, the change breaks every log written so far.
 */
class BatchFormatCompatibilityTest {
    /** Read from the source tree, not the classpath: this is the committed file itself. */
    static final Path GOLDEN_V1 = Path.of("src/test/resources/log/batch-v1.bin");

    static final long T1 = 0x0000_2A3B_4C5D_0000L; // a fresh HLC timestamp: gap bits zero
    static final long T2 = T1 - 0x80; // placed in the gap below T1: an adjusted transaction
    static final int LARGE_VALUE_BYTES = 3_000;

    /** The content of {@code batch-v1.bin}; only used to create the file when it does not exist. */
    static LogBatch goldenV1Content() {
        LogTxn first = new LogTxn(T1, "client-7:0001", false, "mirror-eu",
                List.of(LogWrite.put("accounts/1", json("{\"balance\":100}")), LogWrite.remove("accounts/2")),
                Map.of("mirror-eu", T1 - 1_000, "mirror-us", 12L),
                List.of("accounts/1", "accounts/2"));
        LogTxn second = new LogTxn(T2, null, true, "mirror-東京",
                List.of(LogWrite.put("clés/ünï/😀", compressibleJson(LARGE_VALUE_BYTES))),
                Map.of(),
                List.of());
        return new LogBatch(1, "coord-a", 7, 3, 42, List.of(first, second));
    }

    @Test
    void theCommittedVersion1MessageStillDecodesFieldByField() throws Exception {
        byte[] message = readGoldenOrCreateIt();
        assertEquals(BatchCodec.COMPRESSION_LZ4, message[5], "the golden message exercises the LZ4 path");

        LogBatch b = new BatchCodec().decode(message);

        assertEquals(1, b.formatVersion());
        assertEquals("coord-a", b.coordinatorId());
        assertEquals(7, b.epoch());
        assertEquals(3, b.partition());
        assertEquals(42, b.batchId());
        assertEquals(2, b.txns().size());

        LogTxn first = b.txns().get(0);
        assertEquals(T1, first.timestamp());
        assertEquals("client-7:0001", first.id());
        assertFalse(first.adjusted());
        assertEquals("mirror-eu", first.origin());
        assertEquals(2, first.writes().size());
        assertEquals("accounts/1", first.writes().get(0).key());
        assertFalse(first.writes().get(0).delete());
        assertArrayEquals(json("{\"balance\":100}"), first.writes().get(0).valueJson());
        assertEquals("accounts/2", first.writes().get(1).key());
        assertTrue(first.writes().get(1).delete());
        assertNull(first.writes().get(1).valueJson());
        assertEquals(Map.of("mirror-eu", T1 - 1_000, "mirror-us", 12L), first.vclock());
        assertEquals(List.of("accounts/1", "accounts/2"), first.readKeys());

        LogTxn second = b.txns().get(1);
        assertEquals(T2, second.timestamp());
        assertNull(second.id());
        assertTrue(second.adjusted());
        assertEquals("mirror-東京", second.origin());
        assertEquals(1, second.writes().size());
        assertEquals("clés/ünï/😀", second.writes().get(0).key());
        assertFalse(second.writes().get(0).delete());
        assertArrayEquals(compressibleJson(LARGE_VALUE_BYTES), second.writes().get(0).valueJson());
        assertEquals(Map.of(), second.vclock());
        assertEquals(List.of(), second.readKeys());

        assertEquals(goldenV1Content(), b);
    }

    /**
     * Returns the committed golden file. When it is missing (first run, or someone deleted it), writes
     * it from {@link #goldenV1Content()} and fails, so that a missing file is never silently
     * replaced: review the new file and commit it.
     */
    private static byte[] readGoldenOrCreateIt() throws IOException {
        if (Files.exists(GOLDEN_V1)) {
            return Files.readAllBytes(GOLDEN_V1);
        }
        Files.createDirectories(GOLDEN_V1.getParent());
        Files.write(GOLDEN_V1, new BatchCodec().encode(goldenV1Content()));
        return fail("golden file " + GOLDEN_V1.toAbsolutePath() + " was missing and has been written; commit it");
    }
}
