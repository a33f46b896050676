package io.presage.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.Map;

import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;

import io.vertx.core.Future;
import io.vertx.core.Vertx;

class SpeculateBenchTest {

    @Test
    void defaultsPointAtTheFirstMirrorAndRunAsFastAsPossible() {
        SpeculateBench.Options o = SpeculateBench.parse(new String[0]);
        assertEquals(URI.create("http://127.0.0.1:8081"), o.url());
        assertEquals(10, o.seconds());
        assertEquals(16, o.clients());
        assertEquals(1000, o.keys());
        assertEquals(20, o.sample());
        assertEquals(0, o.rate());
    }

    @Test
    void optionsAreParsedAndBadOnesSayWhatIsWrong() {
        SpeculateBench.Options o = SpeculateBench.parse(new String[] {"--rate", "200", "--keys", "10", "--sample", "5",
            "--url", "http://127.0.0.1:8082"});
        assertEquals(200, o.rate());
        assertEquals(10, o.keys());
        assertEquals(5, o.sample());
        assertEquals(URI.create("http://127.0.0.1:8082"), o.url());
        assertEquals("--rate must be at least 1, not 0",
                assertThrows(IllegalArgumentException.class, () -> SpeculateBench.parse(new String[] {"--rate", "0"})).getMessage());
        assertEquals("unknown option --reads",
                assertThrows(IllegalArgumentException.class, () -> SpeculateBench.parse(new String[] {"--reads", "get"})).getMessage());
    }

    @Test
    void theResultLineNamesBothPhasesAndTheOutcomes() throws Exception {
        SpeculateBench.Options o = SpeculateBench.parse(new String[] {"--rate", "200"});
        Map<String, Object> m = SpeculateBench.resultFields(o, new SpeculateBench.Phase(198, 9.5, 25, 1980, 0, null),
                new SpeculateBench.Phase(198, 3.7, 13, 1980, 0, null), 15.8, 44.5, 87, new SpeculateBench.Outcomes(1974, 11, 0));
        var json = new ObjectMapper().readTree(ResultLine.of(m).substring("RESULT ".length()));
        assertEquals("speculate", json.get("bench").asText());
        assertEquals(200.0, json.get("target_rate").asDouble());
        assertEquals(9.5, json.get("forwarded_p50_ms").asDouble());
        assertEquals(3.7, json.get("speculative_answer_p50_ms").asDouble());
        assertEquals(15.8, json.get("decided_p50_ms").asDouble());
        assertEquals(11, json.get("reexecuted").asLong());
        assertFalse(SpeculateBench.resultFields(SpeculateBench.parse(new String[0]), new SpeculateBench.Phase(1, 1, 1, 1, 0, null),
                new SpeculateBench.Phase(1, 1, 1, 1, 0, null), 1, 1, 1, new SpeculateBench.Outcomes(0, 0, 0)).containsKey("target_rate"));
    }

    @Test
    void aPacedLoopNeverStartsMoreThanItsRate() throws Exception {
        Vertx vertx = Vertx.vertx();
        try {
            ClosedLoop load = new ClosedLoop(vertx, 4, 1);
            ClosedLoop.Result r = load.run(2, c -> Future.succeededFuture(), null, 100);
            // 100 a second for 2 s, plus at most one early start per client; unpaced this is millions.
            assertTrue(r.done() <= 2 * 100 + 4, r.done() + " operations");
            assertTrue(r.done() >= 20, r.done() + " operations: pacing must not starve the loop either (a busy machine may lose some slots)");
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().get();
        }
    }
}
