package io.presage.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import io.presage.testing.TestLimits;

/** A value's compact JSON is the mapper's, whichever way it is produced. */
class RequestParserProperties {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final RequestParser PARSER = new RequestParser(JSON, TestLimits.defaults());

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
        return Arbitraries.oneOf(ints, longs, big, decimals, texts, others);
    }

    @Property(tries = 2_000)
    void aValueIsKeptAsTheMappersCompactText(@ForAll("values") String text) throws Exception {
        JsonNode node = JSON.readTree(text);
        assertArrayEquals(JSON.writeValueAsBytes(node), PARSER.value(text.getBytes(java.nio.charset.StandardCharsets.UTF_8)),
                () -> "value " + text);
    }
}
