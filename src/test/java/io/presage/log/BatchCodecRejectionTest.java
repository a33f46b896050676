package io.presage.log;

import static io.presage.log.LogTestData.batch;
import static io.presage.log.LogTestData.compressibleJson;
import static io.presage.log.LogTestData.envelope;
import static io.presage.log.LogTestData.generated;
import static io.presage.log.LogTestData.json;
import static io.presage.log.LogTestData.txn;
import static io.presage.log.LogTestData.uncompressed;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.UnknownFieldSet;
import io.presage.log.proto.Batch;
import io.presage.log.proto.Txn;
import io.presage.log.proto.Write;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Arrays;

import org.junit.jupiter.api.Test;

/** Every way a message can be malformed ends in a LogDecodeException that names the defect. */
class BatchCodecRejectionTest {
    private final BatchCodec codec = new BatchCodec();

    private void assertRejected(byte[] message, String expectedInMessage) {
        LogDecodeException e = assertThrows(LogDecodeException.class, () -> codec.decode(message));
        assertTrue(e.getMessage().contains(expectedInMessage),
                () -> "expected '" + expectedInMessage + "' in: " + e.getMessage());
    }

    private byte[] validPayload() {
        return generated(batch(txn(1, "id", LogWrite.put("k", json("{}"))))).toByteArray();
    }

    private byte[] compressedMessage() {
        byte[] message = codec.encode(batch(txn(1, null, LogWrite.put("k", compressibleJson(20_000)))));
        assertEquals(BatchCodec.COMPRESSION_LZ4, message[5]);
        return message;
    }

    @Test
    void rejectsAMessageShorterThanTheEnvelopeHeader() {
        assertRejected(new byte[0], "shorter than the 10-byte envelope header");
        assertRejected(new byte[] {'P', 'S', 'G', '1', 1, 0, 0, 0, 0}, "shorter than");
    }

    @Test
    void rejectsAMessageWithTheWrongMagic() {
        assertRejected(envelope("PSG2", 1, 0, 0, new byte[0]), "magic is 50534732");
        assertRejected(json("{\"not\":\"a batch\"}"), "not a Presage log batch");
    }

    @Test
    void rejectsAnUnknownEnvelopeVersion() {
        byte[] payload = validPayload();
        assertRejected(envelope("PSG1", 2, 0, payload.length, payload), "unsupported envelope version 2");
        assertRejected(envelope("PSG1", 0, 0, payload.length, payload), "unsupported envelope version 0");
    }

    @Test
    void rejectsAnUnknownCompressionCode() {
        byte[] payload = validPayload();
        assertRejected(envelope("PSG1", 1, 2, payload.length, payload), "unknown compression code 2");
        assertRejected(envelope("PSG1", 1, 0xFF, payload.length, payload), "unknown compression code 255");
    }

    @Test
    void rejectsADeclaredLengthOverTheLimitBeforeAllocatingIt() {
        assertRejected(envelope("PSG1", 1, 0, BatchCodec.MAX_PAYLOAD_BYTES + 1L, new byte[8]), "exceeds the limit");
        assertRejected(envelope("PSG1", 1, 1, 0xFFFF_FFFFL, new byte[8]), "declared payload length 4294967295");
    }

    @Test
    void rejectsAnUncompressedBodyShorterOrLongerThanDeclared() {
        byte[] payload = validPayload();
        assertRejected(envelope("PSG1", 1, 0, payload.length + 1, payload), "does not match");
        assertRejected(envelope("PSG1", 1, 0, payload.length - 1, payload), "does not match");
        byte[] truncated = uncompressed(payload);
        assertRejected(Arrays.copyOf(truncated, truncated.length - 1), "does not match");
    }

    @Test
    void rejectsAnLz4BlockThatExpandsToOtherThanTheDeclaredLength() {
        byte[] message = compressedMessage();
        int length = ByteBuffer.wrap(message, 6, 4).getInt();
        ByteBuffer.wrap(message).putInt(6, length - 1); // less than the block holds: it overflows
        assertRejected(message, "corrupt LZ4 block");
        ByteBuffer.wrap(message).putInt(6, length + 1); // more than it holds: it falls short
        assertRejected(message, "LZ4 block expands to " + length + " bytes but the header declares " + (length + 1));
    }

    @Test
    void rejectsACorruptLz4Block() {
        byte[] message = compressedMessage();
        assertRejected(Arrays.copyOf(message, message.length - 7), "corrupt LZ4 block");
        byte[] smashed = compressedMessage();
        Arrays.fill(smashed, BatchCodec.HEADER_BYTES, BatchCodec.HEADER_BYTES + 16, (byte) 0xFF);
        LogDecodeException e = assertThrows(LogDecodeException.class, () -> codec.decode(smashed));
        assertTrue(e.getMessage().contains("LZ4"), e.getMessage());
        assertRejected(envelope("PSG1", 1, 1, 0, new byte[0]), "corrupt LZ4 block");
    }

    @Test
    void rejectsADeclaredLengthNoLz4BlockOfThatSizeCouldExpandTo() {
        assertRejected(envelope("PSG1", 1, 1, 1_000_000, new byte[100]), "impossible for 100 bytes of LZ4 data");
    }

    @Test
    void rejectsAPayloadThatIsNotProtobuf() {
        assertRejected(uncompressed(new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF}), "not a valid presage.log.v1.Batch");
        byte[] payload = validPayload();
        // 13 bytes of batch header fields, then the first transaction: cut it short.
        assertRejected(uncompressed(Arrays.copyOf(payload, 16)), "truncated");
    }

    @Test
    void rejectsAStringFieldThatIsNotUtf8() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(bytes);
        out.writeUInt32(Batch.FORMAT_VERSION_FIELD_NUMBER, 1);
        out.writeByteArray(Batch.COORDINATOR_ID_FIELD_NUMBER, new byte[] {'c', (byte) 0xC3, 0x28}); // bad UTF-8
        out.flush();
        assertRejected(uncompressed(bytes.toByteArray()), "UTF-8");
    }

    @Test
    void rejectsABatchWithoutFormatVersion() {
        assertRejected(uncompressed(Batch.newBuilder().setCoordinatorId("c").build().toByteArray()),
                "no format_version");
        assertRejected(uncompressed(new byte[0]), "no format_version");
    }

    @Test
    void rejectsAFormatVersionNewerThanThisReaderSupportsAskingForAnUpgrade() {
        int newer = BatchCodec.FORMAT_VERSION + 1;
        byte[] payload = Batch.newBuilder().setFormatVersion(newer).setCoordinatorId("c").build().toByteArray();
        assertRejected(uncompressed(payload), "format_version " + newer + " is newer");
        byte[] max = Batch.newBuilder().setFormatVersion(-1).build().toByteArray();
        assertRejected(uncompressed(max), "format_version 4294967295 is newer");
    }

    @Test
    void acceptsFieldsANewerWriterAddedWithoutBumpingTheFormatVersion() throws Exception {
        Batch withUnknown = Batch.newBuilder()
                .setFormatVersion(1)
                .setCoordinatorId("c")
                .addTxns(Txn.newBuilder().setTimestamp(5).addWrites(Write.newBuilder().setKey("k")
                        .setValueJson(ByteString.copyFromUtf8("1"))))
                .setUnknownFields(UnknownFieldSet.newBuilder()
                        .addField(99, UnknownFieldSet.Field.newBuilder()
                                .addLengthDelimited(ByteString.copyFromUtf8("future")).build())
                        .build())
                .build();
        LogBatch b = codec.decode(uncompressed(withUnknown.toByteArray()));
        assertEquals(1, b.txns().size());
        assertEquals("k", b.txns().get(0).writes().get(0).key());
    }
}
