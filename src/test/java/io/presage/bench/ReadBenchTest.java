package io.presage.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;

class ReadBenchTest {

    @Test
    void defaultsPointAtTheFirstMirrorOfPresageUp() {
        ReadBench.Options o = ReadBench.parse(new String[0]);
        assertEquals(URI.create("http://127.0.0.1:8081"), o.url());
        assertNull(o.coordinator(), "the coordinator is the one the mirror follows, from its /v1/status");
        assertEquals(10, o.seconds());
        assertEquals(32, o.clients());
        assertEquals(10_000, o.keys());
        assertEquals(3, o.warmup());
    }

    @Test
    void optionsAreParsed() {
        ReadBench.Options o = ReadBench.parse(new String[] {"--url", "http://127.0.0.1:8082/", "--seconds", "5", "--clients", "8",
            "--keys", "1_000", "--warmup", "0", "--coordinator", "http://127.0.0.1:9090", "--io-threads", "2"});
        assertEquals(URI.create("http://127.0.0.1:8082"), o.url());
        assertEquals(URI.create("http://127.0.0.1:9090"), o.coordinator());
        assertEquals(5, o.seconds());
        assertEquals(8, o.clients());
        assertEquals(1000, o.keys());
        assertEquals(0, o.warmup());
        assertEquals(2, o.ioThreads());
    }

    @Test
    void badOptionsSayWhatIsWrong() {
        assertEquals("unknown option --mirror",
                assertThrows(IllegalArgumentException.class, () -> ReadBench.parse(new String[] {"--mirror", "x"})).getMessage());
        assertEquals("missing value after --keys",
                assertThrows(IllegalArgumentException.class, () -> ReadBench.parse(new String[] {"--keys"})).getMessage());
        assertEquals("--clients must be at least 1, not 0",
                assertThrows(IllegalArgumentException.class, () -> ReadBench.parse(new String[] {"--clients", "0"})).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ReadBench.parse(new String[] {"--url", "127.0.0.1:8081"}))
                .getMessage().contains("http://"));
        assertThrows(BenchArgs.HelpRequested.class, () -> ReadBench.parse(new String[] {"-h"}));
    }

    @Test
    void preloadIsOneTransactionOfBlindWritesOfTheGivenKeys() throws Exception {
        JsonNode t = new ObjectMapper().readTree(ReadBench.preloadBody(10, 13));
        assertEquals(0, t.get("reads").size());
        assertEquals(3, t.get("writes").size());
        assertEquals("read-k10", t.get("writes").get(0).get("key").asText());
        assertEquals("read-k12", t.get("writes").get(2).get("key").asText());
        assertEquals(12, t.get("writes").get(2).get("value").get("n").asInt());
    }

    private static ReadBench.Report sample() {
        ReadBench.Report r = new ReadBench.Report();
        r.reads = 100_000;
        r.fromPrimary = 1_000;
        r.readRps = 10_000.4;
        r.readP50 = 1.25;
        r.readP99 = 3.4567;
        r.readMax = 12;
        r.pingRps = 20_000;
        r.pingP50 = 0.8;
        r.pingP99 = 2.5;
        r.catchUpMs = 42;
        return r;
    }

    @Test
    void resultLineIsOneJsonObjectWithTheAgreedFields() throws Exception {
        String line = ResultLine.of(ReadBench.resultFields(ReadBench.parse(new String[0]), sample()));
        assertTrue(line.startsWith("RESULT {") && !line.contains("\n"), line);
        JsonNode j = new ObjectMapper().readTree(line.substring("RESULT ".length()));
        for (String f : List.of("read_rps", "read_p50_ms", "read_p99_ms", "http_ceiling_rps", "read_vs_http_ceiling", "local_share")) {
            assertTrue(j.has(f), "missing " + f + " in " + line);
        }
        assertEquals("read", j.get("bench").asText());
        assertEquals(10_000, j.get("read_rps").asLong());
        assertTrue(j.get("read_rps").isIntegralNumber());
        assertEquals(3.457, j.get("read_p99_ms").asDouble(), 1e-9);
        assertEquals(20_000, j.get("http_ceiling_rps").asLong());
        assertEquals(0.5, j.get("read_vs_http_ceiling").asDouble(), 1e-3);
        assertEquals(0.99, j.get("local_share").asDouble(), 1e-9);
        assertTrue(j.get("preload_seconds").isNull(), "unmeasured values are null, not NaN");
    }

    @Test
    void summaryComparesWithTheTargets() {
        String s = ReadBench.summary(sample());
        assertTrue(s.contains("10,000 req/s"), s);
        assertTrue(s.contains("p99 3.46 ms (target < 2)"), s);
        assertTrue(s.contains("reads = 0.50 × the HTTP ceiling (target ≥ 0.5)"), s);
        assertTrue(s.contains("99.0 % answered locally"), s);
    }
}
