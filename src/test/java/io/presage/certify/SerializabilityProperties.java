package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Example;
import net.jqwik.api.constraints.IntRange;

/**
 * Random concurrent histories, both policies, one and several partitions, windows small enough to
 * evict: every committed transaction replays serially in timestamp order to the versions it read.
 */
class SerializabilityProperties {

    @Provide
    Arbitrary<List<HistorySimulator.Step>> steps() {
        Arbitrary<HistorySimulator.Step> step = Combinators.combine(
                Arbitraries.integers().between(0, 7),
                Arbitraries.of(HistorySimulator.Op.values()),
                Arbitraries.integers().between(0, 9))
                .as(HistorySimulator.Step::new);
        return step.list().ofMinSize(20).ofMaxSize(300);
    }

    @Provide
    Arbitrary<Policy> policies() {
        return Arbitraries.of(Policy.values());
    }

    @Property(tries = 400)
    void everyCommittedTransactionReplaysSeriallyInTimestampOrder(
            @ForAll("steps") List<HistorySimulator.Step> steps,
            @ForAll("policies") Policy policy,
            @ForAll @IntRange(min = 1, max = 3) int partitions,
            @ForAll @IntRange(min = 1, max = 8) int historyDepth,
            @ForAll @IntRange(min = 2, max = 8) int clients,
            @ForAll boolean tinyWindow,
            @ForAll boolean storeBehind) {
        CertifierConfig cfg = new CertifierConfig(policy, historyDepth,
                tinyWindow ? 3 : 4096, tinyWindow ? 2 : 1024, partitions, tinyWindow ? 4 : 1024);
        History history = new History();
        // The store behind the certifier answers cold lookups, as the coordinator's database does.
        ColdVersions cold = storeBehind ? history::read : ColdVersions.NONE;
        Certifier certifier = new Certifier(cfg, new Hlc(), cold, false);
        HistorySimulator.Result r = HistorySimulator.run(certifier, clients, steps, history);
        assertNull(r.violation(), () -> r.violation() + " in " + steps);
        if (policy == Policy.BASIC) {
            assertEquals(0, r.adjusted(), "basic certification never places a transaction in the past");
        }
    }

    @Example
    void theAdaptivePolicyCommitsWhatTheBasicOneAbortsOnTheSameHistory() {
        Random rnd = new Random(7);
        int adaptiveAborts = 0;
        int basicAborts = 0;
        int adjusted = 0;
        for (int i = 0; i < 300; i++) {
            List<HistorySimulator.Step> steps = randomSteps(rnd, 200, 6, 8);
            HistorySimulator.Result a = HistorySimulator.run(new Certifier(CertifierConfig.DEFAULT), 6, steps);
            HistorySimulator.Result b = HistorySimulator.run(
                    new Certifier(CertifierConfig.DEFAULT.withPolicy(Policy.BASIC)), 6, steps);
            assertNull(a.violation());
            assertNull(b.violation());
            adaptiveAborts += a.aborts();
            basicAborts += b.aborts();
            adjusted += a.adjusted();
        }
        assertTrue(adjusted > 0, "some transactions were placed in the past");
        assertTrue(adaptiveAborts < basicAborts, adaptiveAborts + " adaptive vs " + basicAborts + " basic aborts");
    }

    /**
     * The oracle can fail: with the rule "a write goes after the key's last read" switched off, it
     * finds a non-serializable history.
     */
    @Example
    void theOracleCatchesACertifierThatSkipsTheReadTimestampCheck() {
        Random rnd = new Random(11);
        String found = null;
        for (int i = 0; i < 2000 && found == null; i++) {
            Certifier broken = new Certifier(CertifierConfig.DEFAULT);
            broken.injectFaultSkipTrCheck();
            found = HistorySimulator.run(broken, 6, randomSteps(rnd, 200, 6, 6)).violation();
        }
        assertNotNull(found, "a certifier without the Tr check must produce a violation");
    }

    static List<HistorySimulator.Step> randomSteps(Random rnd, int n, int clients, int keys) {
        List<HistorySimulator.Step> out = new ArrayList<>(n);
        HistorySimulator.Op[] ops = HistorySimulator.Op.values();
        for (int i = 0; i < n; i++) {
            out.add(new HistorySimulator.Step(rnd.nextInt(clients), ops[rnd.nextInt(ops.length)], rnd.nextInt(keys)));
        }
        return out;
    }
}
