package io.presage.apply;

import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Vector clocks as stored: a JSON object of node id → that node's latest commit timestamp. */
final class Vclocks {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final TypeReference<TreeMap<String, Long>> TYPE = new TypeReference<>() {
    };

    private Vclocks() {
    }

    static Map<String, Long> parse(String json) {
        if (json == null || json.isEmpty()) {
            return Map.of();
        }
        try {
            return JSON.readValue(json, TYPE);
        } catch (IOException e) {
            throw new IllegalStateException("stored vector clock is not JSON: " + json, e);
        }
    }

    static String write(Map<String, Long> vclock) {
        try {
            return JSON.writeValueAsString(new TreeMap<>(vclock));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Entry-wise maximum: the clock of a version that includes both. */
    static Map<String, Long> merge(Map<String, Long> a, Map<String, Long> b) {
        TreeMap<String, Long> m = new TreeMap<>(a);
        b.forEach((node, ts) -> m.merge(node, ts, Math::max));
        return m;
    }
}
