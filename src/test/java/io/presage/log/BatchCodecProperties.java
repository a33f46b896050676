package io.presage.log;

import static io.presage.log.LogTestData.generated;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.CodedOutputStream;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

class BatchCodecProperties {
    private static final BatchCodec CODEC = new BatchCodec();

    @Provide
    Arbitrary<LogBatch> batches() {
        return LogTestData.batches();
    }

    @Provide
    Arbitrary<Integer> thresholds() {
        return Arbitraries.of(0, BatchCodec.DEFAULT_COMPRESSION_THRESHOLD, Integer.MAX_VALUE);
    }

    @Property(tries = 500)
    void anyBatchDecodesToAnEqualBatchCompressedOrNot(
            @ForAll("batches") LogBatch batch, @ForAll("thresholds") int threshold) throws LogDecodeException {
        byte[] message = new BatchCodec(threshold).encode(batch);
        Statistics.collect(message[5] == BatchCodec.COMPRESSION_LZ4 ? "lz4" : "none");
        assertEquals(batch, CODEC.decode(message));
        Statistics.coverage(c -> {
            c.check("lz4").percentage(p -> p > 10);
            c.check("none").percentage(p -> p > 10);
        });
    }

    /** The hand-written encoder and protoc's generated code agree byte for byte on the payload. */
    @Property(tries = 300)
    void anyBatchEncodesToExactlyTheBytesOfTheGeneratedProtobufClasses(@ForAll("batches") LogBatch batch)
            throws Exception {
        byte[] message = new BatchCodec(Integer.MAX_VALUE).encode(batch);
        byte[] payload = Arrays.copyOfRange(message, BatchCodec.HEADER_BYTES, message.length);
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        CodedOutputStream out = CodedOutputStream.newInstance(expected);
        out.useDeterministicSerialization(); // map entries sorted by key, as our encoder writes them
        generated(batch).writeTo(out);
        out.flush();
        assertArrayEquals(expected.toByteArray(), payload);
    }

    @Property(tries = 2_000)
    void randomBytesEitherDecodeOrFailWithLogDecodeException(@ForAll @Size(max = 200) byte[] garbage) {
        decodeNeverThrowsAnythingElse(garbage);
    }

    /** Pure noise rarely passes the magic; this reaches the decompressor and the protobuf parser. */
    @Property(tries = 2_000)
    void randomBodiesBehindAValidHeaderEitherDecodeOrFailWithLogDecodeException(
            @ForAll @IntRange(min = 0, max = 1) int compression,
            @ForAll @Size(max = 300) byte[] body,
            @ForAll @IntRange(min = 0, max = 2_000) int declaredLength) {
        int declared = compression == BatchCodec.COMPRESSION_NONE ? body.length : declaredLength;
        decodeNeverThrowsAnythingElse(LogTestData.envelope("PSG1", 1, compression, declared, body));
    }

    @Property(tries = 1_000)
    void corruptingAValidMessageEitherDecodesOrFailsWithLogDecodeException(
            @ForAll("batches") LogBatch batch, @ForAll("thresholds") int threshold,
            @ForAll @IntRange(min = 0, max = Integer.MAX_VALUE - 1) int position,
            @ForAll @IntRange(min = 1, max = 255) int xor) {
        byte[] message = new BatchCodec(threshold).encode(batch);
        message[position % message.length] ^= (byte) xor;
        decodeNeverThrowsAnythingElse(message);
        decodeNeverThrowsAnythingElse(Arrays.copyOf(message, position % message.length));
    }

    private static void decodeNeverThrowsAnythingElse(byte[] message) {
        try {
            CODEC.decode(message);
        } catch (LogDecodeException expected) {
            // a clean refusal is fine; anything else propagates and fails the property
        }
    }
}
