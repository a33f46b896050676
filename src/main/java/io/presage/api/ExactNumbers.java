package io.presage.api;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;

import io.quarkus.jackson.ObjectMapperCustomizer;

import jakarta.inject.Singleton;

/**
 * The application's mapper reads numbers exactly: fractions and exponents as decimals, trailing
 * zeros kept. Values travel as JSON text, and every place that parses one (a mirror's
 * reconciliation reply, the values a procedure reads, a speculation resumed after a crash) must hand
 * it on unchanged: read as a double, {@code 1e400} became the string {@code "Infinity"}. See
 * {@link RequestParser}, which does the same for request bodies with whatever mapper it is given.
 */
@Singleton
public class ExactNumbers implements ObjectMapperCustomizer {
    @Override
    public void customize(ObjectMapper mapper) {
        mapper.enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
        mapper.configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);
    }

    /**
     * A tree reader of {@code mapper} for request bodies: numbers read exactly, however the mapper is
     * configured, and strictly, since a body is what a client meant only if it is one JSON value: data
     * after it ({@code 1 2}, {@code {"a":1}{"b":2}}) and a field given twice ({@code {"id":"a","id":"b"}},
     * whose last copy used to win silently) are malformed.
     */
    public static ObjectReader treeReader(ObjectMapper mapper) {
        return mapper.readerFor(JsonNode.class)
                .with(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .with(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                .without(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES);
    }
}
