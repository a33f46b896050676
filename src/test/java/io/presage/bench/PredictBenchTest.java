package io.presage.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;

class PredictBenchTest {

    @Test
    void defaultsAndOptions() {
        PredictBench.Options d = PredictBench.parse(new String[0]);
        assertEquals(URI.create("http://127.0.0.1:8081"), d.url());
        assertEquals(4, d.rounds());
        assertEquals(0.99, d.minConfidence());
        PredictBench.Options o = PredictBench.parse(new String[] {"--users", "50", "--writes", "0", "--min-confidence", "0.5",
            "--think-ms", "0", "--rounds", "1"});
        assertEquals(50, o.users());
        assertEquals(0, o.writes());
        assertEquals(0.5, o.minConfidence());
        assertEquals(0, o.thinkMs());
        assertThrows(IllegalArgumentException.class, () -> PredictBench.parse(new String[] {"--min-confidence", "1.5"}));
        assertThrows(IllegalArgumentException.class, () -> PredictBench.parse(new String[] {"--min-confidence", "x"}));
    }

    @Test
    void aSessionReadsOneUsersKeysInOrderAndARandomOneHasNoSuchStructure() {
        SplittableRandom rnd = new SplittableRandom(1);
        for (int i = 0; i < 100; i++) {
            String[] chain = PredictBench.visit(PredictBench.Workload.SESSIONS, rnd, 10);
            String user = chain[0].substring(0, chain[0].lastIndexOf('-'));
            for (int s = 0; s < chain.length; s++) {
                assertEquals(user + "-" + PredictBench.CHAIN[s], chain[s]);
            }
        }
        Set<String> seconds = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            String[] random = PredictBench.visit(PredictBench.Workload.RANDOM, rnd, 10);
            assertTrue(random[0].startsWith("pb-u") && random.length == 3);
            seconds.add(random[1]);
        }
        assertTrue(seconds.size() > 20, "random second reads spread over the keys: " + seconds.size());
    }

    @Test
    void precisionAndRecallComeFromTheMirrorsDecidedPredictions() throws Exception {
        PredictBench.Tally t = new PredictBench.Tally();
        t.reads = 200;
        t.local = 150;
        t.decided = 40;
        t.hits = 30;
        t.followingReads = 120;
        t.reconcilePosts = 10;
        t.seconds = 2;
        t.latencies.add(new LatencyLog());
        t.latencies.get(0).add(1_000_000);
        assertEquals(0.75, t.localShare());
        assertEquals(0.75, t.precision());
        assertEquals(0.25, t.recall());
        assertEquals(5.0, t.per100(t.reconcilePosts));
        Map<PredictBench.Workload, PredictBench.Tally> m = new LinkedHashMap<>();
        m.put(PredictBench.Workload.SESSIONS, t);
        String s = PredictBench.summary(m, new ObjectMapper().readTree("{\"stalenessSeconds\":0.01,\"prediction\":{}}"));
        assertTrue(s.contains("sessions") && s.contains("75.0%") && s.contains("0.75") && s.contains("0.25"), s);
        assertNotEquals(-1, s.indexOf("staleness 10.0 ms"), s);
    }
}
