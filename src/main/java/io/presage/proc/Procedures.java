package io.presage.proc;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** The procedures registered in code. */
public final class Procedures {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final Map<String, Procedure> ALL = Map.of("transfer", new Transfer(), "increment", new Increment());

    private Procedures() {
    }

    public static Procedure get(String name) {
        return ALL.get(name);
    }

    /** {@code {"from": key, "to": key, "amount": positive integer}}: moves an amount, refusing overdrafts. */
    static final class Transfer implements Procedure {
        @Override
        public List<String> keys(JsonNode args) {
            String from = text(args, "from");
            String to = text(args, "to");
            if (from.equals(to)) {
                throw ProcedureException.badInput("from and to must differ");
            }
            positive(args, "amount");
            return List.of(from, to);
        }

        @Override
        public Plan plan(JsonNode args, Map<String, JsonNode> values) {
            String from = text(args, "from");
            String to = text(args, "to");
            BigInteger amount = positive(args, "amount");
            BigInteger a = number(values.get(from), from);
            BigInteger b = number(values.get(to), to);
            if (a.compareTo(amount) < 0) {
                throw ProcedureException.refuse("INSUFFICIENT_FUNDS", from + " holds " + a + ", less than " + amount);
            }
            Map<String, JsonNode> writes = new LinkedHashMap<>();
            writes.put(from, JSON.numberNode(a.subtract(amount)));
            writes.put(to, JSON.numberNode(storable(b.add(amount), to)));
            ObjectNode result = JSON.objectNode();
            result.set(from, writes.get(from));
            result.set(to, writes.get(to));
            return new Plan(writes, result);
        }
    }

    /** {@code {"key": key, "by": integer (default 1)}}: adds to a number (a missing key counts as 0). */
    static final class Increment implements Procedure {
        @Override
        public List<String> keys(JsonNode args) {
            by(args);
            return List.of(text(args, "key"));
        }

        @Override
        public Plan plan(JsonNode args, Map<String, JsonNode> values) {
            String key = text(args, "key");
            BigInteger next = storable(number(values.get(key), key).add(by(args)), key);
            JsonNode v = JSON.numberNode(next);
            return new Plan(Map.of(key, v), v);
        }

        private static BigInteger by(JsonNode args) {
            JsonNode by = args.get("by");
            if (by == null || by.isNull()) {
                return BigInteger.ONE;
            }
            BigInteger n = integer(by);
            if (n == null) {
                throw ProcedureException.badInput("by must be an integer of at most " + MAX_DIGITS + " digits (1000, 1e3 and 1.0 are)");
            }
            return n;
        }
    }

    static String text(JsonNode args, String field) {
        JsonNode n = args.get(field);
        if (n == null || !n.isTextual()) {
            throw ProcedureException.badInput(field + " must be a non-empty string (a key)");
        }
        if (n.asText().isEmpty()) {
            throw ProcedureException.invalidKey(field + " is an empty key");
        }
        return n.asText();
    }

    static BigInteger positive(JsonNode args, String field) {
        BigInteger n = integer(args.get(field));
        if (n == null || n.signum() <= 0) {
            throw ProcedureException.badInput(field + " must be a positive integer of at most " + MAX_DIGITS
                    + " digits (1000, 1e3 and 1.0 are)");
        }
        return n;
    }

    /**
     * A JSON number that is an exact integer, in whatever form it was written: {@code 1000}, {@code 1e3},
     * {@code 1000.0} (JSON has one number type, and a client's serializer may pick any of them; 1e3 was
     * refused as "not an integer"). Null for anything else: not a number, a fraction, or more than
     * {@link #MAX_DIGITS} digits (counted before any expansion, so that {@code 1e999999999} is not
     * written out to be refused).
     */
    static BigInteger integer(JsonNode n) {
        if (n == null || !n.isNumber()) {
            return null;
        }
        if (n.isIntegralNumber()) {
            return n.bigIntegerValue();
        }
        BigDecimal d = n.decimalValue();
        if (d.signum() == 0) {
            return BigInteger.ZERO;
        }
        try {
            d = d.stripTrailingZeros();
            // In long: precision - scale of 1e2147483647 overflows an int to a negative number, which
            // passed the check, and the expansion below threw (500, and a leaked slot at a mirror).
            if (d.scale() > 0 || (long) d.precision() - d.scale() > MAX_DIGITS) {
                return null;
            }
            return d.toBigIntegerExact();
        } catch (ArithmeticException e) {
            return null; // a scale past an int's range (100e2147483647 stripped of its zeros): no integer here
        }
    }

    /**
     * The most digits a stored number may have: what every JSON reader here accepts (Jackson's default
     * limit, which bounds the cost of reading a number). A PUT cannot store more; a procedure that
     * would (an increment of a 1000-digit number) is refused rather than leave a value no later read
     * of the key could parse.
     */
    static final int MAX_DIGITS = 1000;

    static BigInteger storable(BigInteger n, String key) {
        if (n.abs().bitLength() > 3000 && n.abs().toString().length() > MAX_DIGITS) {
            throw ProcedureException.refuse("NUMBER_TOO_LONG", key + " would hold a number of more than " + MAX_DIGITS + " digits");
        }
        return n;
    }

    static BigInteger number(JsonNode v, String key) {
        if (v == null || v.isNull()) {
            return BigInteger.ZERO;
        }
        BigInteger n = integer(v); // 1E+3, stored by a PUT of 1e3, is the integer 1000
        if (n == null) {
            throw ProcedureException.refuse("NOT_A_NUMBER", key + " does not hold an integer");
        }
        return n;
    }
}
