package io.presage.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.Test;

/** Eviction by lowest score: about a sixteenth goes, the lowest, however many share a score. */
class EvictionTest {

    @Test
    void theLowestScoredSixteenthGoes() {
        Map<String, Double> m = new ConcurrentHashMap<>();
        for (int i = 0; i < 1600; i++) {
            m.put("k" + i, (double) i);
        }
        int removed = Eviction.lowest(m, 1600, v -> v);
        assertTrue(removed >= 80 && removed <= 100, "about 100: " + removed);
        for (int i = 0; i < 1600; i++) {
            if (!m.containsKey("k" + i)) {
                assertTrue(i < 200, "only low scores go, not k" + i);
            }
        }
        assertTrue(m.containsKey("k1599"));
    }

    @Test
    void tiesDoNotTakeMoreThanASixteenth() {
        Map<String, Long> m = new HashMap<>();
        for (int i = 0; i < 1600; i++) {
            m.put("k" + i, i < 1000 ? 5L : 9L); // a thousand marks stamped with one time
        }
        assertEquals(100, Eviction.lowest(m, 1600, v -> v));
        assertEquals(1500, m.size());
        assertEquals(600, m.values().stream().filter(v -> v == 9L).count(), "the newer ones all kept");
    }

    @Test
    void anEmptyMapLosesNothing() {
        assertEquals(0, Eviction.lowest(new HashMap<String, Double>(), 16, v -> v));
    }
}
