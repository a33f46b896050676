package io.presage.apply;

import java.io.IOException;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

import com.fasterxml.jackson.core.io.JsonStringEncoder;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Vector clocks as stored: a JSON object of node id → that node's latest commit timestamp. */
final class Vclocks {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonStringEncoder STRINGS = JsonStringEncoder.getInstance();
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

    /**
     * The clock as a JSON object with its node ids in order, as Jackson would write a sorted map. By
     * hand because the applier writes one per item: through an {@code ObjectMapper} each cost a
     * generator, its buffers and a sorted copy (6 % of the coordinator's allocation under commit load),
     * for what is nearly always a single entry.
     */
    static String write(Map<String, Long> vclock) {
        if (vclock.isEmpty()) {
            return "{}";
        }
        StringBuilder out = new StringBuilder(24 * vclock.size());
        out.append('{');
        if (vclock.size() == 1 || vclock instanceof SortedMap<?, ?> sorted && sorted.comparator() == null) {
            vclock.forEach((node, ts) -> entry(out, node, ts));
        } else {
            new TreeMap<>(vclock).forEach((node, ts) -> entry(out, node, ts));
        }
        out.setCharAt(out.length() - 1, '}');
        return out.toString();
    }

    private static void entry(StringBuilder out, String node, Long ts) {
        out.append('"');
        STRINGS.quoteAsString(node, out);
        out.append("\":");
        if (ts == null) {
            out.append("null");
        } else {
            out.append(ts.longValue());
        }
        out.append(',');
    }

    /** Entry-wise maximum: the clock of a version that includes both. */
    static Map<String, Long> merge(Map<String, Long> a, Map<String, Long> b) {
        TreeMap<String, Long> m = new TreeMap<>(a);
        b.forEach((node, ts) -> m.merge(node, ts, Math::max));
        return m;
    }
}
