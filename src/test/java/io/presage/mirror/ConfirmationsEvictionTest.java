package io.presage.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.presage.apply.StoredItem;

/**
 * Confirmations is bounded, and when full it drops the oldest answers first: a confirmation the
 * coordinator gave just now (which may be the only evidence that a local copy is stale) must not be the
 * one that goes, as it would in the map's hash order.
 */
class ConfirmationsEvictionTest {

    @Test
    void aFullTableDropsTheOldestConfirmationsAndKeepsTheRecentOnes() {
        int maxKeys = 32;
        Confirmations c = new Confirmations(maxKeys);
        for (int i = 0; i < 500; i++) {
            String key = "key-" + i;
            Map<String, StoredItem> items = new HashMap<>();
            items.put(key, new StoredItem(key, new byte[] {'1'}, 100 + i, Map.of("c", 100L + i), 1));
            c.confirmed(List.of(key), items, 1_000 + i);
            assertTrue(c.size() <= maxKeys, "bounded: " + c.size());
            for (int j = Math.max(0, i - maxKeys / 2 + 1); j <= i; j++) {
                assertEquals(1_000 + j, c.confirmedAt("key-" + j, 100 + j),
                        "key-" + j + ", among the " + maxKeys / 2 + " newest answers, was dropped after key-" + i);
                assertTrue(c.knownNewer("key-" + j, 99 + j));
            }
        }
        assertEquals(0, c.confirmedAt("key-0", 100), "the oldest answer went");
    }
}
