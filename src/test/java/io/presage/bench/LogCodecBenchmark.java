package io.presage.bench;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Setup;

import io.presage.log.ApplicableBatch;
import io.presage.log.BatchCodec;
import io.presage.log.BatchElements;
import io.presage.log.LogBatch;
import io.presage.log.LogDecodeException;
import io.presage.log.LogTxn;
import io.presage.log.LogWrite;
import io.presage.testing.NanosPerOpBenchmark;

/**
 * The log codec on a typical group-commit message: 13 blind writes (the mean batch of the commit
 * bench at 128 clients), each with the one-entry vector clock the coordinator gives a commit.
 * {@code decode} is what every applier does per message, {@code countElements} the part of it that
 * bounds the objects a message decodes into, and {@code check} what {@code ApplicableBatch} adds to it; {@code build} is what group commit does per
 * transaction before encoding. Run with the GC profiler to see bytes allocated per operation:
 * {@code ./presage bench jmh LogCodecBenchmark -prof gc}.
 */
public class LogCodecBenchmark extends NanosPerOpBenchmark {
    private static final int TXNS = 13;

    private final BatchCodec codec = new BatchCodec();
    private byte[] message;
    private LogBatch decoded;
    /** The same batch's protobuf bytes, uncompressed, at {@link BatchCodec#HEADER_BYTES}. */
    private byte[] raw;
    private List<LogWrite> writes;
    private List<String> reads;
    private long ts = 1_700_000_000_000_000L;

    @Setup
    public void setUp() {
        List<LogTxn> txns = new ArrayList<>(TXNS);
        for (int i = 0; i < TXNS; i++) {
            long t = ts + i;
            txns.add(new LogTxn(t, null, false, "coordinator",
                    List.of(LogWrite.put("bench-k" + (10_000 + i * 7_919 % 90_000), ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8))),
                    Map.of("coordinator", t), List.of()));
        }
        message = codec.encode(LogBatch.of("coordinator", 1, 0, 42, txns));
        raw = new BatchCodec(Integer.MAX_VALUE).encode(LogBatch.of("coordinator", 1, 0, 42, txns));
        try {
            decoded = codec.decode(message);
        } catch (LogDecodeException e) {
            throw new IllegalStateException(e);
        }
        writes = List.of(LogWrite.put("bench-k12345", "{\"n\":1}".getBytes(StandardCharsets.UTF_8)));
        reads = List.of();
    }

    @Benchmark
    public LogBatch decode() throws LogDecodeException {
        return codec.decode(message);
    }

    /** What a node adds per message since the applier refuses batches no coordinator writes: the check alone. */
    @Benchmark
    public LogBatch check() throws LogDecodeException {
        return ApplicableBatch.check(decoded);
    }

    /** What decoding adds per message since it counts the elements before building them: the count alone. */
    @Benchmark
    public long countElements() throws LogDecodeException {
        return BatchElements.check(raw, BatchCodec.HEADER_BYTES, raw.length - BatchCodec.HEADER_BYTES);
    }

    @Benchmark
    public LogTxn build() {
        long t = ++ts;
        return new LogTxn(t, null, false, "coordinator", writes, Map.of("coordinator", t), reads);
    }
}
