package io.presage.coord;

import java.util.List;

import org.openjdk.jmh.annotations.Benchmark;

import io.presage.testing.NanosPerOpBenchmark;

/**
 * What taking turns adds to a procedure call whose keys nobody else is using, the common case over
 * a large key space: register on two keys, get the ready stage, finish.
 * {@code ./presage bench jmh KeyTurnsBenchmark -prof gc}.
 */
public class KeyTurnsBenchmark extends NanosPerOpBenchmark {
    private final KeyTurns turns = new KeyTurns();
    private final List<String> keys = List.of("acct-17", "acct-42");

    @Benchmark
    public boolean transferOnFreeKeys() {
        KeyTurns.Turn t = turns.enter(keys);
        boolean ready = t.ready().isDone();
        t.finish();
        return ready;
    }
}
