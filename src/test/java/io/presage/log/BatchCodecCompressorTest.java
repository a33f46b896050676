package io.presage.log;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;

/** Which LZ4 compressor the codec writes with, and that what either one writes reads back alike. */
class BatchCodecCompressorTest {

    private static boolean nativeLibraryShipped() {
        String os = System.getProperty("os.name").toLowerCase();
        String arch = System.getProperty("os.arch");
        return os.contains("linux") && (arch.equals("amd64") || arch.equals("aarch64"));
    }

    @Test
    void withoutTheNativeLibraryTheJavaCompressorIsUsed() {
        LZ4Compressor c = BatchCodec.compressor(() -> {
            throw new UnsatisfiedLinkError("liblz4-java.so already loaded in another classloader");
        });
        assertEquals(LZ4Factory.fastestJavaInstance().fastCompressor().getClass(), c.getClass());
    }

    @Test
    void whereTheNativeLibraryLoadsTheCodecCompressesWithIt() {
        assumeTrue(nativeLibraryShipped(), "lz4-java ships no native library for this platform");
        assertTrue(BatchCodec.compressorName().contains("JNI"), BatchCodec.compressorName());
    }

    @Test
    void blocksOfTheNativeAndTheJavaCompressorDecompressToTheSameBytes() {
        assumeTrue(nativeLibraryShipped(), "lz4-java ships no native library for this platform");
        byte[] input = "{\"coordinator\":1700000000000000}bench-k12345bench-k67890".repeat(20).getBytes(StandardCharsets.UTF_8);
        for (LZ4Compressor c : new LZ4Compressor[] {LZ4Factory.nativeInstance().fastCompressor(),
                LZ4Factory.fastestJavaInstance().fastCompressor()}) {
            byte[] block = c.compress(input);
            assertTrue(block.length < input.length / 4, c + " compressed " + input.length + " bytes to " + block.length);
            assertArrayEquals(input, LZ4Factory.safeInstance().safeDecompressor().decompress(block, input.length), c.toString());
        }
    }
}
