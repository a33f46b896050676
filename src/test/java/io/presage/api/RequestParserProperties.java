package io.presage.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Comparator;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import io.presage.testing.TestLimits;

/** A value is kept as sent: its compact JSON is the same JSON, numbers to the last digit. */
class RequestParserProperties {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final RequestParser PARSER = new RequestParser(JSON, TestLimits.defaults());
    /** The oracle's reading: every number exact (BigDecimal or BigInteger), nothing normalised. */
    private static final ObjectReader EXACT = JSON.readerFor(JsonNode.class)
            .with(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS, DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .without(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES);
    /** JSON has one number type: 9.0e1 and 90 are the same number, read exactly; other nodes as equals. */
    private static final Comparator<JsonNode> SAME_NUMBER = (a, b) -> a.isNumber() && b.isNumber()
            ? a.decimalValue().compareTo(b.decimalValue()) : (a.equals(b) ? 0 : 1);

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
        Arbitrary<String> others = Arbitraries.of("true", "false", "null", "[1, 2 ,3]", "{ \"a\" : -0, \"b\": [ ] }", "-0", "1e3");
        return Arbitraries.oneOf(ints, longs, big, decimals, exactDecimals(), texts, others,
                exactDecimals().map(d -> "{\"amount\": " + d + ", \"list\": [" + d + "]}"));
    }

    /** Decimals a double cannot hold: up to 30 significant digits, exponents far beyond a double's range. */
    static Arbitrary<String> exactDecimals() {
        Arbitrary<String> digits = Arbitraries.strings().numeric().ofMinLength(1).ofMaxLength(30);
        Arbitrary<Integer> exponent = Arbitraries.integers().between(-1000, 1000);
        return net.jqwik.api.Combinators.combine(Arbitraries.of("", "-"), digits, digits, exponent, Arbitraries.of("e", "E", "e+"))
                .as((sign, whole, fraction, exp, e) -> sign + whole.replaceFirst("^0+(?=.)", "") + "." + fraction
                        + (exp < 0 ? e.substring(0, 1) : e) + exp);
    }

    @Property(tries = 2_000)
    void aValueIsKeptAsTheSameJsonToTheLastDigit(@ForAll("values") String text) throws Exception {
        byte[] kept = PARSER.value(text.getBytes(StandardCharsets.UTF_8));
        assertTrue(EXACT.readTree(text).equals(SAME_NUMBER, EXACT.readTree(kept)),
                () -> "value " + text + " kept as " + new String(kept, StandardCharsets.UTF_8));
    }

    @Property(tries = 1_000)
    void aValueWithoutFractionsIsKeptAsTheMappersCompactText(@ForAll("integralValues") String text) throws Exception {
        assertArrayEquals(JSON.writeValueAsBytes(JSON.readTree(text)), PARSER.value(text.getBytes(StandardCharsets.UTF_8)),
                () -> "value " + text);
    }

    @Provide
    Arbitrary<String> integralValues() {
        return Arbitraries.oneOf(Arbitraries.integers().map(String::valueOf), Arbitraries.longs().map(String::valueOf),
                Arbitraries.of("true", "null", "[1, 2 ,3]", "{ \"a\" : -0, \"b\": [ ] }", "\"caf\u00e9\""));
    }

    @Example
    void numbersADoubleCannotHoldAreKeptExactly() {
        assertEquals("1E+400", value("1e400"), "not the string \"Infinity\"");
        assertEquals("-1E-400", value("-1E-400"), "not -0.0");
        assertEquals("0.10000000000000000000001", value("0.10000000000000000000001"));
        assertEquals("1.50", value("1.50"), "trailing zeros kept");
        assertEquals("[1.0,{\"a\":123456789012345678901234567890}]", value("[1.0, {\"a\": 123456789012345678901234567890}]"));
    }

    private static String value(String text) {
        return new String(PARSER.value(text.getBytes(StandardCharsets.UTF_8)), StandardCharsets.UTF_8);
    }
}
