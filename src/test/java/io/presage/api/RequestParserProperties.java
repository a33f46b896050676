package io.presage.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import io.presage.testing.TestLimits;

/** A value is kept as sent: its compact JSON is the same JSON, numbers to the last digit. */
class RequestParserProperties {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final RequestParser PARSER = new RequestParser(JSON, TestLimits.defaults());
    /** The application's mapper, as Quarkus sets it up: what a mirror reads a reconciled value with. */
    private static final ObjectMapper APP = new ObjectMapper();
    static {
        new ExactNumbers().customize(APP);
    }

    @Provide
    Arbitrary<String> values() {
        Arbitrary<String> ints = Arbitraries.integers().map(String::valueOf);
        Arbitrary<String> longs = Arbitraries.longs().map(String::valueOf);
        Arbitrary<String> big = Arbitraries.bigIntegers().between(new java.math.BigInteger("-99999999999999999999999"),
                new java.math.BigInteger("99999999999999999999999")).map(String::valueOf);
        Arbitrary<String> decimals = Arbitraries.doubles().map(String::valueOf);
        // No lone surrogates: they do not survive the request body's UTF-8.
        Arbitrary<String> texts = Arbitraries.strings().withCharRange('\u0000', '\ud7ff').ofMaxLength(10).map(s -> {
            try {
                return JSON.writeValueAsString(s);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Arbitrary<String> others = Arbitraries.of("true", "false", "null", "[1, 2 ,3]", "{ \"a\" : -0, \"b\": [ ] }", "-0", "1e3",
                "\"\\u00e9\\ud83d\\ude00\\u0000\\n\"", "{\"a\":{\"a\":{}},\"b\":[[],{}]}");
        Arbitrary<String> zeros = Combinators.combine(Arbitraries.of("", "-"), Arbitraries.of("0", "0.0", "0.000", "0e5", "0E-7", "0.0e+3"))
                .as(String::concat);
        return Arbitraries.oneOf(ints, longs, big, decimals, exactDecimals(), texts, others, zeros,
                exactDecimals().map(d -> "{\"amount\": " + d + ", \"list\": [" + d + "]}"),
                Combinators.combine(zeros, exactDecimals()).as((z, d) -> "[" + z + ",{\"z\":" + z + ",\"d\":" + d + "}]"));
    }

    /**
     * The oracle: {@code b} is the JSON {@code a} is, token by token, and its numbers are the same numbers
     * to the last digit with the same sign, zero included (JSON has one number type: 9.0e1 is 90, but -0
     * is not 0 to a client that reads it as a double).
     */
    private static boolean sameJson(String a, byte[] b) throws Exception {
        try (JsonParser pa = JSON.createParser(a); JsonParser pb = JSON.createParser(b)) {
            for (JsonToken t = pa.nextToken(); t != null; t = pa.nextToken()) {
                JsonToken u = pb.nextToken();
                if (t.isNumeric() && u != null && u.isNumeric()) {
                    if (pa.getDecimalValue().compareTo(pb.getDecimalValue()) != 0
                            || pa.getText().startsWith("-") != pb.getText().startsWith("-")) {
                        return false;
                    }
                } else if (t != u || !pa.getText().equals(pb.getText())) {
                    return false;
                }
            }
            return pb.nextToken() == null;
        }
    }

    /** Decimals a double cannot hold: up to 30 significant digits, exponents far beyond a double's range. */
    static Arbitrary<String> exactDecimals() {
        Arbitrary<String> digits = Arbitraries.strings().numeric().ofMinLength(1).ofMaxLength(30);
        Arbitrary<Integer> exponent = Arbitraries.integers().between(-1000, 1000);
        return Combinators.combine(Arbitraries.of("", "-"), digits, digits, exponent, Arbitraries.of("e", "E", "e+"))
                .as((sign, whole, fraction, exp, e) -> sign + whole.replaceFirst("^0+(?=.)", "") + "." + fraction
                        + (exp < 0 ? e.substring(0, 1) : e) + exp);
    }

    @Property(tries = 2_000)
    void aValueIsKeptAsTheSameJsonToTheLastDigit(@ForAll("values") String text) throws Exception {
        byte[] kept = PARSER.value(text.getBytes(StandardCharsets.UTF_8));
        assertTrue(sameJson(text, kept), () -> "value " + text + " kept as " + new String(kept, StandardCharsets.UTF_8));
    }

    /** What a mirror does with a value the coordinator reconciled: read it and write it again, unchanged. */
    @Property(tries = 1_000)
    void theApplicationsMapperWritesAValueItReadAsTheSameJson(@ForAll("values") String text) throws Exception {
        byte[] again = APP.writeValueAsBytes(APP.readTree(text));
        assertTrue(sameJson(text, again), () -> "value " + text + " read and written as " + new String(again, StandardCharsets.UTF_8));
    }

    @Property(tries = 1_000)
    void aValueWithoutFractionsIsKeptAsTheMappersCompactText(@ForAll("integralValues") String text) throws Exception {
        assertArrayEquals(JSON.writeValueAsBytes(JSON.readTree(text)), PARSER.value(text.getBytes(StandardCharsets.UTF_8)),
                () -> "value " + text);
    }

    @Provide
    Arbitrary<String> integralValues() {
        return Arbitraries.oneOf(Arbitraries.integers().map(String::valueOf), Arbitraries.longs().map(String::valueOf),
                Arbitraries.of("true", "null", "[1, 2 ,3]", "{ \"a\" : -1, \"b\": [ ] }", "\"caf\u00e9\""));
    }

    @Example
    void numbersADoubleCannotHoldAreKeptExactly() {
        assertEquals("1E+400", value("1e400"), "not the string \"Infinity\"");
        assertEquals("-1E-400", value("-1E-400"), "not -0.0");
        assertEquals("0.10000000000000000000001", value("0.10000000000000000000001"));
        assertEquals("1.50", value("1.50"), "trailing zeros kept");
        assertEquals("[1.0,{\"a\":123456789012345678901234567890}]", value("[1.0, {\"a\": 123456789012345678901234567890}]"));
        // A negative zero keeps its sign (an int or a BigDecimal has none: -0 came back as 0), and its scale.
        assertEquals("-0", value("-0"));
        assertEquals("[-0.0,{\"a\":-0.00,\"b\":-0E+5,\"c\":0.0}]", value("[-0.0, {\"a\": -0.00, \"b\": -0e5, \"c\": 0.0}]"));
    }

    private static String value(String text) {
        return new String(PARSER.value(text.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }
}
