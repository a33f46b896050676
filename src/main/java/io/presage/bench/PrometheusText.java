package io.presage.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.function.Predicate;

/**
 * A scrape of a node's {@code /q/metrics} (Prometheus text format 0.0.4), parsed just enough to add
 * up series: comments are skipped, label values unescaped, timestamps ignored.
 */
final class PrometheusText {

    record Sample(String name, Map<String, String> labels, double value) {
    }

    private final List<Sample> samples;

    private PrometheusText(List<Sample> samples) {
        this.samples = samples;
    }

    static PrometheusText parse(String text) {
        List<Sample> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            line = line.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            Sample s = parseLine(line);
            if (s != null) {
                out.add(s);
            }
        }
        return new PrometheusText(out);
    }

    /** One sample line, or null if it is not one (the format allows no other lines, but be lenient). */
    static Sample parseLine(String line) {
        int i = 0;
        int n = line.length();
        while (i < n && line.charAt(i) != '{' && line.charAt(i) != ' ' && line.charAt(i) != '\t') {
            i++;
        }
        String name = line.substring(0, i);
        Map<String, String> labels = new LinkedHashMap<>();
        if (i < n && line.charAt(i) == '{') {
            i++;
            while (i < n && line.charAt(i) != '}') {
                int eq = line.indexOf('=', i);
                if (eq < 0 || eq + 1 >= n || line.charAt(eq + 1) != '"') {
                    return null;
                }
                String label = line.substring(i, eq).strip();
                StringBuilder value = new StringBuilder();
                int j = eq + 2;
                for (; j < n && line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    if (c == '\\' && j + 1 < n) {
                        char e = line.charAt(++j);
                        value.append(e == 'n' ? '\n' : e);
                    } else {
                        value.append(c);
                    }
                }
                if (j >= n) {
                    return null;
                }
                labels.put(label, value.toString());
                i = j + 1;
                while (i < n && (line.charAt(i) == ',' || line.charAt(i) == ' ')) {
                    i++;
                }
            }
            i++; // '}'
        }
        String[] rest = line.substring(Math.min(i, n)).strip().split("\\s+");
        if (name.isEmpty() || rest.length == 0 || rest[0].isEmpty()) {
            return null;
        }
        try {
            return new Sample(name, labels, parseValue(rest[0]));
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static double parseValue(String v) {
        return switch (v) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(v);
        };
    }

    /** The sum of every series named {@code name} whose labels pass {@code labels}; empty if none does. */
    OptionalDouble sum(String name, Predicate<Map<String, String>> labels) {
        boolean any = false;
        double total = 0;
        for (Sample s : samples) {
            if (s.name.equals(name) && labels.test(s.labels)) {
                any = true;
                total += s.value;
            }
        }
        return any ? OptionalDouble.of(total) : OptionalDouble.empty();
    }

    OptionalDouble sum(String name) {
        return sum(name, l -> true);
    }

    /** The value of the series named {@code name} whose label {@code label} is {@code value}. */
    OptionalDouble get(String name, String label, String value) {
        return sum(name, l -> value.equals(l.get(label)));
    }

    /**
     * What the heap holds once young garbage is gone: the used bytes of every heap pool except eden.
     * After a young collection eden is empty and the survivor and old pools hold what was kept; until
     * the next collection they grow only by direct old-generation allocations. So this is the heap
     * right after the last GC (an upper bound of the live set, since old garbage waits for a mixed or
     * full collection), read without forcing a collection. Empty without the JVM heap metrics.
     */
    OptionalDouble heapAfterGcBytes() {
        return sum("jvm_memory_used_bytes", l -> "heap".equals(l.get("area"))
                && !l.getOrDefault("id", "").toLowerCase(java.util.Locale.ROOT).contains("eden"));
    }

    OptionalDouble heapUsedBytes() {
        return sum("jvm_memory_used_bytes", l -> "heap".equals(l.get("area")));
    }
}
