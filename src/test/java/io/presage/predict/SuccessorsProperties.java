package io.presage.predict;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The transition model against an oracle that keeps every observation: the exact (decayed) share of
 * each successor. Observations come at random times from a skewed distribution of successors, so
 * rows both fit and overflow their slots.
 */
class SuccessorsProperties {
    private static final long HALF_LIFE = 10_000;

    private record Obs(String from, String to, long at) {
    }

    @Property(tries = 200)
    void aProbabilityIsNeverAboveTheSuccessorsTrueDecayedShareAndEqualsItWhileTheRowHasRoom(
            @ForAll long seed, @ForAll @IntRange(min = 1, max = 12) int successors,
            @ForAll @IntRange(min = 1, max = 6) int slots) {
        Random rnd = new Random(seed);
        Successors model = new Successors(HALF_LIFE, slots, 1_000, 0);
        List<String> from = List.of("a", "b", "c");
        java.util.ArrayList<Obs> seen = new java.util.ArrayList<>();
        long now = 1_000_000;
        for (int i = 0; i < 300; i++) {
            now += rnd.nextInt(200);
            // Skewed: successor j with weight about 1/(j+1).
            int j = (int) Math.floor(Math.pow(successors + 1, rnd.nextDouble())) - 1;
            Obs o = new Obs(from.get(rnd.nextInt(from.size())), "s" + Math.min(j, successors - 1), now);
            model.observe(o.from(), o.to(), o.at());
            seen.add(o);
        }
        double tau = HALF_LIFE / Math.log(2);
        for (String f : from) {
            Map<String, Double> share = new HashMap<>();
            double total = 0;
            for (Obs o : seen) {
                if (o.from().equals(f)) {
                    double w = Math.exp(-(now - o.at()) / tau);
                    share.merge(o.to(), w, Double::sum);
                    total += w;
                }
            }
            for (Map.Entry<String, Double> e : share.entrySet()) {
                double exact = e.getValue() / total;
                double p = model.probability(f, e.getKey(), now);
                assertTrue(p <= exact + 1e-9, f + "→" + e.getKey() + ": " + p + " > " + exact);
                if (share.size() <= slots) {
                    assertEquals(exact, p, 1e-9, f + "→" + e.getKey() + " with room in the row");
                }
            }
            double sum = 0;
            for (int s = 0; s < successors; s++) {
                sum += model.probability(f, "s" + s, now);
            }
            assertTrue(sum <= 1 + 1e-9, "probabilities out of " + f + " add up to " + sum);
        }
    }

    @Property(tries = 100)
    void predictionsAreTheSuccessorsAtOrAboveTheThresholdMostLikelyFirst(
            @ForAll long seed, @ForAll @IntRange(min = 1, max = 8) int successors) {
        Random rnd = new Random(seed);
        Successors model = new Successors(HALF_LIFE, 8, 100, 0);
        long now = 5_000;
        java.util.ArrayList<Obs> seen = new java.util.ArrayList<>();
        for (int i = 0; i < 200; i++) {
            Obs o = new Obs("a", "s" + rnd.nextInt(successors), now += rnd.nextInt(50));
            model.observe(o.from(), o.to(), o.at());
            seen.add(o);
        }
        // The oracle: each successor's exact decayed share (8 slots hold every one of at most 8 successors).
        double tau = HALF_LIFE / Math.log(2);
        Map<String, Double> exact = new HashMap<>();
        double total = 0;
        for (Obs o : seen) {
            double w = Math.exp(-(now - o.at()) / tau);
            exact.merge(o.to(), w, Double::sum);
            total += w;
        }
        double threshold = rnd.nextDouble() * 0.6;
        List<Successors.Prediction> after = model.after("a", threshold, now);
        for (int s = 0; s < successors; s++) {
            String key = "s" + s;
            double share = exact.getOrDefault(key, 0.0) / total;
            if (Math.abs(share - threshold) < 1e-9) {
                continue; // on the threshold: rounding decides, either way is right
            }
            boolean listed = after.stream().anyMatch(x -> x.key().equals(key));
            assertEquals(share >= threshold, listed, key + " at " + share + " against " + threshold);
        }
        for (Successors.Prediction x : after) {
            assertEquals(exact.get(x.key()) / total, x.probability(), 1e-9, x.key() + "'s probability");
        }
        for (int i = 1; i < after.size(); i++) {
            assertTrue(after.get(i - 1).probability() >= after.get(i).probability(), after.toString());
        }
    }
}
