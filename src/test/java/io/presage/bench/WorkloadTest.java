package io.presage.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

import io.presage.certify.TxnRequest;

import org.junit.jupiter.api.Test;

class WorkloadTest {

    @Test
    void zipfWithHighSkewConcentratesOnFewKeysAndUniformDoesNot() {
        int n = 100_000;
        SplittableRandom rnd = new SplittableRandom(1);
        int[] skewed = new int[n];
        int[] uniform = new int[n];
        ZipfKeys z = new ZipfKeys(n, 0.99);
        ZipfKeys u = new ZipfKeys(n, 0);
        for (int i = 0; i < 200_000; i++) {
            skewed[z.next(rnd)]++;
            uniform[u.next(rnd)]++;
        }
        int maxSkewed = java.util.Arrays.stream(skewed).max().orElseThrow();
        int maxUniform = java.util.Arrays.stream(uniform).max().orElseThrow();
        assertTrue(maxSkewed > 10_000, "the hottest key takes several percent at θ=0.99: " + maxSkewed);
        assertTrue(maxUniform < 30, "no key stands out when uniform: " + maxUniform);
    }

    @Test
    void zipfRejectsParametersOutsideItsDomain() {
        assertThrows(IllegalArgumentException.class, () -> new ZipfKeys(10, 1.0));
        assertThrows(IllegalArgumentException.class, () -> new ZipfKeys(10, -0.1));
    }

    @Test
    void transactionsHaveTheAdvertisedShapesOverDistinctKeys() {
        YcsbTransactions w = new YcsbTransactions(1_000, 0.8, 3);
        int[] kinds = new int[3];
        for (int i = 0; i < 4_000; i++) {
            YcsbTransactions.Kind kind = w.nextKind();
            kinds[kind.ordinal()]++;
            TxnRequest t = w.next(kind);
            Set<String> keys = new HashSet<>();
            for (int r = 0; r < t.readCount(); r++) {
                keys.add(t.readKey(r));
            }
            switch (kind) {
                case READ_ONLY -> assertTrue(t.readCount() == 4 && t.writeCount() == 0);
                case READ_MODIFY_WRITE -> {
                    assertEquals(4, t.writeCount());
                    for (int x = 0; x < 4; x++) {
                        assertTrue(keys.contains(t.writeKey(x)), "writes the keys it read");
                    }
                }
                case READ_SEVERAL_WRITE_ONE -> {
                    assertEquals(3, t.readCount());
                    assertEquals(1, t.writeCount());
                    assertTrue(!keys.contains(t.writeKey(0)), "writes a key it did not read");
                }
            }
            assertEquals(t.readCount(), keys.size(), "distinct keys");
        }
        assertTrue(kinds[0] > 1_700 && kinds[1] > 800 && kinds[2] > 800, java.util.Arrays.toString(kinds));
    }

    @Test
    void theBenchRefusesBadOptionsWithAMessage() {
        assertThrows(IllegalArgumentException.class, () -> CertifyBench.parse(new String[] {"--zipf", "x"}));
        assertThrows(IllegalArgumentException.class, () -> CertifyBench.parse(new String[] {"--policy", "greedy"}));
        assertThrows(IllegalArgumentException.class, () -> CertifyBench.parse(new String[] {"--inflight"}));
        assertEquals(64, CertifyBench.parse(new String[] {"--inflight", "64"}).inflight());
    }

    @Test
    void theResultLineCarriesEveryPolicyRunWithTheAgreedFields() {
        CertifyBench.Options o = CertifyBench.parse(new String[] {"--seconds", "1", "--keys", "1000"});
        java.util.Map<String, CertifyBench.Result> r = new java.util.LinkedHashMap<>();
        r.put("adaptive", CertifyBench.run(o, io.presage.certify.Policy.ADAPTIVE, 1));
        String line = CertifyBench.resultLine(o, r);
        assertTrue(line.startsWith("RESULT {\"bench\":\"certify\",\"zipf\":0.99,\"inflight\":16"), line);
        for (String f : new String[] {"throughput_tps", "abort_rate", "adjusted_rate", "p50_us", "p99_us"}) {
            assertTrue(line.contains("\"" + f + "\":"), f);
        }
        assertTrue(r.get("adaptive").certified() > 0);
    }
}
