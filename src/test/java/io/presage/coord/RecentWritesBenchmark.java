package io.presage.coord;

import java.util.Map;
import java.util.SplittableRandom;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;

import io.presage.testing.NanosPerOpBenchmark;

/**
 * The coordinator's recent writes at a steady apply lag: each operation is one log message of
 * {@code versions} writes over a large key space, acknowledged (put), then the applier reporting the
 * message {@code lagMessages} back as applied (evict). What it costs per message should not grow
 * with the lag, which is what the memory holds. {@code ./presage bench jmh RecentWritesBenchmark}.
 */
public class RecentWritesBenchmark extends NanosPerOpBenchmark {
    @Param({"10", "100", "1000"})
    public int lagMessages;

    @Param({"12"})
    public int versions;

    private static final int KEY_SPACE = 1 << 20;
    private final RecentWrites recent = new RecentWrites();
    private final SplittableRandom rnd = new SplittableRandom(7);
    private final byte[] value = "{\"n\":12345}".getBytes();
    private final Map<String, Long> vclock = Map.of("coordinator", 1L);
    private String[] keys;
    private long sequence;

    @Setup
    public void fill() {
        keys = new String[KEY_SPACE];
        for (int i = 0; i < KEY_SPACE; i++) {
            keys[i] = "acct-" + i;
        }
        for (int i = 0; i < lagMessages; i++) {
            message();
        }
    }

    @Benchmark
    public long ackThenApplyOneMessage() {
        message();
        recent.evictApplied(sequence - lagMessages);
        return recent.bytes();
    }

    private void message() {
        sequence++;
        for (int i = 0; i < versions; i++) {
            recent.put(new RecentWrites.Version(keys[rnd.nextInt(KEY_SPACE)], value, sequence, sequence, vclock));
        }
    }
}
