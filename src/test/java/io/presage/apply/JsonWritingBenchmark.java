package io.presage.apply;

import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;

import org.openjdk.jmh.annotations.Benchmark;

import io.presage.api.RequestParser;
import io.presage.testing.NanosPerOpBenchmark;
import io.presage.testing.TestLimits;

/**
 * The two bits of JSON every commit writes besides its response: the stored vector clock of each
 * applied item (one entry, as the coordinator gives it) and a written value kept as compact text (an
 * integer, as counters and balances are). Each through an {@code ObjectMapper}, as they were written
 * before, and by hand, as they are now, side by side in one run:
 * {@code ./presage bench jmh JsonWritingBenchmark -prof gc}.
 */
public class JsonWritingBenchmark extends NanosPerOpBenchmark {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<String, Long> vclock = Map.of("coordinator", 1_700_000_000_000_000L);
    private final JsonNode value = IntNode.valueOf(1_234_567);
    private final RequestParser parser = new RequestParser(JSON, TestLimits.defaults());

    @Benchmark
    public String vclockThroughTheMapper() throws Exception {
        return JSON.writeValueAsString(new TreeMap<>(vclock));
    }

    @Benchmark
    public String vclockByHand() {
        return Vclocks.write(vclock);
    }

    @Benchmark
    public byte[] valueThroughTheMapper() throws Exception {
        return JSON.writeValueAsBytes(value);
    }

    @Benchmark
    public byte[] valueCompact() {
        return parser.compact(value);
    }
}
