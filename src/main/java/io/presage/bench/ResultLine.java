package io.presage.bench;

import java.util.Locale;
import java.util.Map;

/** The benchmarks' last line, {@code RESULT {json}}, that scripts and BENCHMARKS.md read. */
final class ResultLine {
    private ResultLine() {
    }

    /** {@code RESULT {json}}: whole numbers as they are, others to three decimals, unmeasured as null. */
    static String of(Map<String, Object> fields) {
        StringBuilder sb = new StringBuilder("RESULT {");
        boolean first = true;
        for (Map.Entry<String, Object> e : fields.entrySet()) {
            sb.append(first ? "" : ",").append('"').append(e.getKey()).append("\":");
            first = false;
            Object v = e.getValue();
            if (v instanceof Double d) {
                sb.append(Double.isFinite(d) ? decimal(d) : "null");
            } else if (v instanceof Number || v instanceof Boolean) {
                sb.append(v);
            } else {
                sb.append('"').append(String.valueOf(v).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            }
        }
        return sb.append('}').toString();
    }

    static String decimal(double d) {
        String s = String.format(Locale.ROOT, "%.3f", d);
        if (s.contains(".")) {
            s = s.replaceAll("0+$", "").replaceAll("\\.$", "");
        }
        return s.equals("-0") ? "0" : s;
    }

    /** A measured value for a human line, or "n/a". */
    static String opt(double v, String format) {
        return Double.isFinite(v) ? String.format(Locale.ROOT, format, v) : "n/a";
    }
}
