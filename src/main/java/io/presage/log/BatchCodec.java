package io.presage.log;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.DiscardUnknownFieldsParser;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Parser;
import io.presage.log.proto.Batch;
import io.presage.log.proto.Txn;
import io.presage.log.proto.Write;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * Turns a {@link LogBatch} into the body of one log message and back. The layout is specified in
 * {@code docs/log-format.md}; in short, a 10-byte envelope followed by a protobuf
 * {@code presage.log.v1.Batch}, LZ4-compressed when that pays:
 *
 * <pre>
 *   offset 0  4 bytes  magic "PSG1"
 *          4  1 byte   envelope version (1)
 *          5  1 byte   compression: 0 none, 1 LZ4 block
 *          6  4 bytes  uncompressed payload length, big-endian
 *         10  ...      payload: Batch bytes, raw or as one LZ4 block
 * </pre>
 *
 * <p>Thread-safe; one instance can serve the whole process. Encoding writes protobuf straight from
 * the records and reuses per-thread scratch buffers, so steady-state encoding allocates the result
 * array plus one short-lived byte array per string field (protobuf-java's string writer); measured
 * on a 100-transaction batch, about a seventh of what building the generated messages costs.
 *
 * <p>Decoding treats the message as untrusted: anything it cannot vouch for ends in
 * {@link LogDecodeException}, and it never allocates more than the declared length, itself capped
 * at {@link #MAX_PAYLOAD_BYTES} and at what the compressed size can possibly expand to.
 */
public final class BatchCodec {
    /** The newest {@code Batch.format_version} this code writes and reads. */
    public static final int FORMAT_VERSION = 1;
    /**
     * The newest {@code Batch.format_version} {@link #decode} accepts: {@link #FORMAT_VERSION}. Only a
     * test raises it (JVM system property {@code io.presage.test.reader-format-version}), to run this build
     * as the newer one that reads a format it does not know yet, e.g. a node upgraded after it parked a
     * message of that format; such a message the tests make is a version-1 batch under the newer number.
     * Nothing in production sets it.
     */
    static final int NEWEST_READABLE = Math.max(FORMAT_VERSION,
            Integer.getInteger("io.presage.test.reader-format-version", FORMAT_VERSION));
    /** Current envelope layout version (the byte after the magic). */
    public static final int ENVELOPE_VERSION = 1;
    public static final int COMPRESSION_NONE = 0;
    public static final int COMPRESSION_LZ4 = 1;
    /** Magic + version + compression + length. */
    public static final int HEADER_BYTES = 10;
    /** Largest uncompressed payload written or accepted: 64 MiB. */
    public static final int MAX_PAYLOAD_BYTES = 64 << 20;
    /**
     * Most elements (transactions, writes, read keys, vector-clock entries) one message carries as this
     * code writes it. Group commit splits its messages here as it does at
     * {@code presage.group-commit.max-bytes}, and one transaction can never reach it:
     * {@code presage.limits.txn-keys} is at most {@link #MAX_TXN_KEYS}.
     */
    public static final int MAX_ELEMENTS = 1 << 16;
    /**
     * Most elements a message may hold to be read: what bounds the heap its decoding takes, which its
     * bytes do not (see {@link BatchElements}). Four times {@link #MAX_ELEMENTS}, because coordinators
     * before that bound split by estimated bytes only: at the default {@code max-bytes} (900,000) their
     * messages hold at most about 82,000 elements (a read key is at least 11 bytes by that estimate).
     */
    public static final int MAX_READ_ELEMENTS = 1 << 18;
    /** Most keys one transaction may read plus write: with itself and its clock entry, one message. */
    public static final int MAX_TXN_KEYS = MAX_ELEMENTS - 2;
    /** Payloads up to this size are never compressed: too small to gain, not worth the CPU. */
    public static final int DEFAULT_COMPRESSION_THRESHOLD = 256;

    /** Unknown fields are dropped: nothing reads them, and each kept one would be an object (BatchElements). */
    private static final Parser<Batch> PARSER = DiscardUnknownFieldsParser.wrap(Batch.parser());
    private static final byte[] MAGIC = {'P', 'S', 'G', '1'};
    /** An LZ4 sequence turns at most one input byte into 255 output bytes; more is corruption. */
    private static final int LZ4_MAX_EXPANSION = 255;
    /** Scratch buffers larger than this are not kept between calls (a rare huge batch would pin them). */
    private static final int RETAINED_SCRATCH_BYTES = 1 << 20;
    private static final int RETAINED_SIZE_SLOTS = 1 << 16;

    private static final LZ4Compressor COMPRESSOR = compressor(LZ4Factory::nativeInstance);
    /**
     * Pure-Java, bounds-checked decompressor: messages are untrusted input (a corrupt one must end as
     * a dead letter, never as a read out of bounds: CVE-2025-12183 was exactly that in lz4-java 1.8.0's
     * JNI and Unsafe decompressors). It always writes into a fresh array, so no earlier batch's bytes
     * can show through a crafted block either (CVE-2025-66566). Decompression is on the consumers'
     * side, off the coordinator's hot path.
     */
    private static final LZ4SafeDecompressor DECOMPRESSOR = LZ4Factory.safeInstance().safeDecompressor();

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private final int compressionThreshold;

    /**
     * The JNI compressor where the native library loads, else the pure-Java one. Not
     * {@code LZ4Factory.fastestInstance()}: it refuses native code to any class loader but the system
     * one, so inside the Quarkus runner it chose the safe Java compressor, which allocates a 16 KB hash
     * table on every call (4 % of the coordinator's allocation samples under commit load, one table per
     * log message). The input is our own batch, so the JNI side of CVE-2025-12183 (reading untrusted
     * compressed data) does not apply here; decompression stays pure Java.
     */
    static LZ4Compressor compressor(Supplier<LZ4Factory> nativeFactory) {
        try {
            return nativeFactory.get().fastCompressor();
        } catch (Throwable e) {
            // UnsatisfiedLinkError / AssertionError: no library for this platform, or another class
            // loader of this JVM (a test restarting Quarkus) holds it already.
            return LZ4Factory.fastestJavaInstance().fastCompressor();
        }
    }

    /** The compressor in use, for the log. */
    public static String compressorName() {
        return COMPRESSOR.toString();
    }

    public BatchCodec() {
        this(DEFAULT_COMPRESSION_THRESHOLD);
    }

    /** @param compressionThreshold payloads of at most this many bytes are stored uncompressed */
    public BatchCodec(int compressionThreshold) {
        if (compressionThreshold < 0) {
            throw new IllegalArgumentException("compressionThreshold must be >= 0");
        }
        this.compressionThreshold = compressionThreshold;
    }

    /**
     * The message body for {@code batch}.
     *
     * @throws IllegalArgumentException if the batch cannot be represented: a format version this
     *     code does not write, a string with an unpaired surrogate, a payload over
     *     {@link #MAX_PAYLOAD_BYTES}, or more than {@link #MAX_ELEMENTS} elements
     */
    public byte[] encode(LogBatch batch) {
        if (batch.formatVersion() < 1 || batch.formatVersion() > FORMAT_VERSION) {
            throw new IllegalArgumentException("cannot write format_version " + batch.formatVersion()
                    + "; this code writes 1.." + FORMAT_VERSION);
        }
        long elements = BatchElements.of(batch);
        if (elements > MAX_ELEMENTS) {
            throw new IllegalArgumentException("batch of " + elements + " elements; a message carries at most "
                    + MAX_ELEMENTS + " (split it)");
        }
        Scratch scratch = SCRATCH.get();
        BatchWriter writer = scratch.writer;
        try {
            int size = writer.measure(batch);
            if (size <= compressionThreshold) {
                byte[] out = new byte[HEADER_BYTES + size];
                writer.write(batch, CodedOutputStream.newInstance(out, HEADER_BYTES, size));
                return header(out, COMPRESSION_NONE, size);
            }
            byte[] payload = scratch.payload(size);
            writer.write(batch, CodedOutputStream.newInstance(payload, 0, size));
            int maxCompressed = COMPRESSOR.maxCompressedLength(size);
            byte[] compressed = scratch.compressed(HEADER_BYTES + maxCompressed);
            int compressedSize = COMPRESSOR.compress(payload, 0, size, compressed, HEADER_BYTES, maxCompressed);
            byte[] out;
            if (compressedSize < size) {
                out = header(Arrays.copyOf(compressed, HEADER_BYTES + compressedSize), COMPRESSION_LZ4, size);
            } else {
                out = new byte[HEADER_BYTES + size];
                System.arraycopy(payload, 0, out, HEADER_BYTES, size);
                header(out, COMPRESSION_NONE, size);
            }
            return out;
        } finally {
            scratch.trim();
        }
    }

    /**
     * The batch in a message body produced by {@link #encode} (by this or an older version).
     *
     * @throws LogDecodeException if {@code message} is not a well-formed Presage batch this code can
     *     read; the message names the defect
     */
    public LogBatch decode(byte[] message) throws LogDecodeException {
        Objects.requireNonNull(message, "message");
        ByteBuffer payload = payload(message);
        byte[] bytes = payload.array();
        int offset = payload.arrayOffset() + payload.position();
        int length = payload.remaining();
        BatchElements.check(bytes, offset, length);
        Batch batch;
        try {
            CodedInputStream in = CodedInputStream.newInstance(bytes, offset, length);
            batch = PARSER.parseFrom(in);
            in.checkLastTagWas(0); // a stray end-group tag ends the parse early; parseFrom(bytes) checks this
        } catch (InvalidProtocolBufferException e) {
            throw new LogDecodeException("payload is not a valid presage.log.v1.Batch: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // protobuf-java documents only InvalidProtocolBufferException; be safe on hostile input.
            throw new LogDecodeException("payload is not a valid presage.log.v1.Batch: " + e, e);
        }
        int version = batch.getFormatVersion();
        if (version == 0) {
            throw new LogDecodeException("batch has no format_version (every writer sets it to 1 or more)");
        }
        if (version > NEWEST_READABLE || version < 0) {
            throw new LogDecodeException("batch format_version " + Integer.toUnsignedString(version)
                    + " is newer than this reader supports (" + FORMAT_VERSION + "); upgrade the consumer");
        }
        return toModel(batch);
    }

    /**
     * The uncompressed payload length {@code message}'s envelope declares, read without decoding: what
     * decoding it will allocate and parse. A message whose envelope {@link #decode} refuses before
     * allocating anything (too short, not Presage's, over {@link #MAX_PAYLOAD_BYTES}) counts as its own size.
     */
    public static long declaredPayloadBytes(byte[] message) {
        if (message.length < HEADER_BYTES || !hasMagic(message)) {
            return message.length;
        }
        long declared = declaredLength(message);
        return declared > MAX_PAYLOAD_BYTES ? message.length : declared;
    }

    /** Checks the envelope and returns the uncompressed protobuf bytes (a view when stored raw). */
    private static ByteBuffer payload(byte[] message) throws LogDecodeException {
        if (message.length < HEADER_BYTES) {
            throw new LogDecodeException("message of " + message.length
                    + " bytes is shorter than the " + HEADER_BYTES + "-byte envelope header");
        }
        if (!hasMagic(message)) {
            throw new LogDecodeException("not a Presage log batch: magic is "
                    + hex(message, 0, MAGIC.length) + ", expected 50534731 (\"PSG1\")");
        }
        int envelopeVersion = message[4] & 0xFF;
        if (envelopeVersion != ENVELOPE_VERSION) {
            throw new LogDecodeException("unsupported envelope version " + envelopeVersion
                    + " (this reader supports " + ENVELOPE_VERSION + ")");
        }
        int compression = message[5] & 0xFF;
        long declared = declaredLength(message);
        if (declared > MAX_PAYLOAD_BYTES) {
            throw new LogDecodeException("declared payload length " + declared
                    + " exceeds the limit of " + MAX_PAYLOAD_BYTES + " bytes");
        }
        int length = (int) declared;
        int bodyLength = message.length - HEADER_BYTES;
        switch (compression) {
            case COMPRESSION_NONE -> {
                if (bodyLength != length) {
                    throw new LogDecodeException("declared payload length " + length
                            + " does not match the " + bodyLength + " bytes present");
                }
                return ByteBuffer.wrap(message, HEADER_BYTES, bodyLength);
            }
            case COMPRESSION_LZ4 -> {
                return ByteBuffer.wrap(decompress(message, bodyLength, length));
            }
            default -> throw new LogDecodeException("unknown compression code " + compression
                    + " (known: " + COMPRESSION_NONE + " none, " + COMPRESSION_LZ4 + " LZ4 block)");
        }
    }

    private static byte[] decompress(byte[] message, int bodyLength, int length) throws LogDecodeException {
        if ((long) bodyLength * LZ4_MAX_EXPANSION < length) {
            throw new LogDecodeException("declared payload length " + length + " is impossible for "
                    + bodyLength + " bytes of LZ4 data (corrupt header)");
        }
        byte[] out = new byte[length];
        int produced;
        try {
            produced = DECOMPRESSOR.decompress(message, HEADER_BYTES, bodyLength, out, 0, length);
        } catch (RuntimeException e) { // LZ4Exception, or an index error from the bounds-checked decoder
            throw new LogDecodeException("corrupt LZ4 block: " + e.getMessage(), e);
        }
        if (produced != length) {
            throw new LogDecodeException("LZ4 block expands to " + produced
                    + " bytes but the header declares " + length);
        }
        return out;
    }

    private static LogBatch toModel(Batch b) {
        List<LogTxn> txns = new ArrayList<>(b.getTxnsCount());
        for (Txn t : b.getTxnsList()) {
            List<LogWrite> writes = new ArrayList<>(t.getWritesCount());
            for (Write w : t.getWritesList()) {
                // A delete's value is ignored by contract, whatever a writer put there.
                writes.add(w.getDelete()
                        ? LogWrite.remove(w.getKey())
                        : LogWrite.put(w.getKey(), w.getValueJson().toByteArray()));
            }
            txns.add(new LogTxn(t.getTimestamp(), t.getId(), t.getAdjusted(), t.getOrigin(),
                    writes, t.getVclockMap(), t.getReadKeysList(), t.getResult()));
        }
        return new LogBatch(b.getFormatVersion(), b.getCoordinatorId(), b.getEpoch(), b.getPartition(),
                b.getBatchId(), txns);
    }

    private static byte[] header(byte[] out, int compression, int length) {
        System.arraycopy(MAGIC, 0, out, 0, MAGIC.length);
        out[4] = (byte) ENVELOPE_VERSION;
        out[5] = (byte) compression;
        out[6] = (byte) (length >>> 24);
        out[7] = (byte) (length >>> 16);
        out[8] = (byte) (length >>> 8);
        out[9] = (byte) length;
        return out;
    }

    private static boolean hasMagic(byte[] message) {
        return Arrays.equals(message, 0, MAGIC.length, MAGIC, 0, MAGIC.length);
    }

    /** The envelope's uncompressed payload length (bytes 6–9), of a message at least {@link #HEADER_BYTES} long. */
    private static long declaredLength(byte[] message) {
        return readUnsignedIntBigEndian(message, 6);
    }

    private static long readUnsignedIntBigEndian(byte[] b, int at) {
        return ((b[at] & 0xFFL) << 24) | ((b[at + 1] & 0xFFL) << 16) | ((b[at + 2] & 0xFFL) << 8) | (b[at + 3] & 0xFFL);
    }

    private static String hex(byte[] b, int from, int to) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < to; i++) {
            sb.append(Character.forDigit((b[i] >> 4) & 0xF, 16)).append(Character.forDigit(b[i] & 0xF, 16));
        }
        return sb.toString();
    }

    /** Per-thread encode buffers: the batch writer's size table, the payload and the LZ4 output. */
    private static final class Scratch {
        private BatchWriter writer = new BatchWriter(MAX_PAYLOAD_BYTES);
        private byte[] payload = new byte[0];
        private byte[] compressed = new byte[0];

        byte[] payload(int size) {
            if (payload.length < size) {
                payload = new byte[Math.max(size, Math.min(payload.length * 2, RETAINED_SCRATCH_BYTES))];
            }
            return payload;
        }

        byte[] compressed(int size) {
            if (compressed.length < size) {
                compressed = new byte[Math.max(size, Math.min(compressed.length * 2, RETAINED_SCRATCH_BYTES))];
            }
            return compressed;
        }

        /** Drops buffers a huge batch grew beyond what is worth keeping. */
        void trim() {
            if (writer.capacity() > RETAINED_SIZE_SLOTS) {
                writer = new BatchWriter(MAX_PAYLOAD_BYTES);
            }
            if (payload.length > RETAINED_SCRATCH_BYTES) {
                payload = new byte[0];
            }
            if (compressed.length > RETAINED_SCRATCH_BYTES) {
                compressed = new byte[0];
            }
        }
    }
}
