package io.presage.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.stream.LongStream;

import org.junit.jupiter.api.Test;

import io.presage.log.BatchCodec;
import io.presage.log.LogMessage;

class ApplierPagesTest {

    @Test
    void aPageIsAppliedFromPastTheAppliedSequence() {
        assertEquals(List.of(5L, 6L, 7L), sequences(Applier.unapplied(page(3, 7), 4)));
        assertEquals(List.of(), sequences(Applier.unapplied(page(3, 7), 7)));
    }

    @Test
    void aPageThatStartsAboveTheAppliedSequenceIsKeptForTheGapFill() {
        assertEquals(List.of(9L, 10L), sequences(Applier.unapplied(page(9, 10), 4)));
    }

    @Test
    void aToppedUpPageWhoseSecondPullStartsOverIsCutWhereItStopsFollowingOn() {
        // 5..44, then a consumer re-created at its ack floor delivering 5..28 again
        List<LogMessage> merged = new java.util.ArrayList<>(page(5, 44));
        merged.addAll(page(5, 28));
        assertEquals(LongStream.rangeClosed(5, 44).boxed().toList(), sequences(Applier.unapplied(merged, 4)));
    }

    @Test
    void aToppedUpPageWithAHoleBetweenItsPullsIsCutAtTheHole() {
        List<LogMessage> merged = new java.util.ArrayList<>(page(5, 8));
        merged.addAll(page(10, 12));
        assertEquals(List.of(5L, 6L, 7L, 8L), sequences(Applier.unapplied(merged, 4)));
    }

    @Test
    void aChunkDecodesAtMostItsBudgetOfDeclaredPayloadAndAtLeastOneMessage() {
        assertEquals(2, Applier.withinDecodeBudget(declaring(40, 40, 40), 100), "40 + 40 fit, the third would pass 100");
        assertEquals(3, Applier.withinDecodeBudget(declaring(40, 40, 20), 100), "exactly the budget fits");
        assertEquals(1, Applier.withinDecodeBudget(declaring(500, 1), 100), "one over the budget goes alone");
        assertEquals(0, Applier.withinDecodeBudget(List.of(), 100));
        // What is compressed counts as it will be once decompressed, not as the bytes that travel.
        byte[] lz4 = envelope(BatchCodec.COMPRESSION_LZ4, 90);
        assertEquals(1, Applier.withinDecodeBudget(List.of(message(1, lz4), message(2, lz4)), 100));
    }

    @Test
    void aMessageDecodingRefusesBeforeAllocatingCountsAsItsOwnSize() {
        assertEquals(3, BatchCodec.declaredPayloadBytes(new byte[] {1, 2, 3}), "shorter than an envelope");
        assertEquals(12, BatchCodec.declaredPayloadBytes("not-presage!".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertEquals(BatchCodec.HEADER_BYTES, BatchCodec.declaredPayloadBytes(envelope(BatchCodec.COMPRESSION_LZ4, 0xFFFF_FFFFL)),
                "a declared length over the limit is refused before anything is allocated");
        assertEquals(BatchCodec.MAX_PAYLOAD_BYTES, BatchCodec.declaredPayloadBytes(envelope(BatchCodec.COMPRESSION_LZ4,
                BatchCodec.MAX_PAYLOAD_BYTES)));
    }

    /** Messages whose envelopes declare these uncompressed sizes (their bodies are not needed here). */
    private static List<LogMessage> declaring(long... sizes) {
        List<LogMessage> out = new java.util.ArrayList<>();
        for (int i = 0; i < sizes.length; i++) {
            out.add(message(i + 1, envelope(BatchCodec.COMPRESSION_LZ4, sizes[i])));
        }
        return out;
    }

    private static byte[] envelope(int compression, long declared) {
        return java.nio.ByteBuffer.allocate(BatchCodec.HEADER_BYTES).put(new byte[] {'P', 'S', 'G', '1'})
                .put((byte) BatchCodec.ENVELOPE_VERSION).put((byte) compression).putInt((int) declared).array();
    }

    private static LogMessage message(long sequence, byte[] data) {
        return new LogMessage(sequence, "mirror.log.0", data, 0);
    }

    private static List<LogMessage> page(long from, long to) {
        return LongStream.rangeClosed(from, to).mapToObj(s -> new LogMessage(s, "mirror.log.0", new byte[0], 0)).toList();
    }

    private static List<Long> sequences(List<LogMessage> messages) {
        return messages.stream().map(LogMessage::sequence).toList();
    }
}
