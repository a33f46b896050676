package io.presage.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;

import io.quarkus.jackson.ObjectMapperCustomizer;

import jakarta.inject.Singleton;

/**
 * The application's mapper reads numbers exactly: fractions and exponents as decimals, trailing
 * zeros kept, a negative zero with its sign ({@link ExactTree}). Values travel as JSON text, and
 * every place that parses one (a mirror's reconciliation reply, the values a procedure reads, a
 * speculation resumed after a crash) must hand it on unchanged: read as a double, {@code 1e400}
 * became the string {@code "Infinity"}, and {@code -0} read as an int became {@code 0}. See
 * {@link RequestParser}, which does the same for request bodies with whatever mapper it is given.
 */
@Singleton
public class ExactNumbers implements ObjectMapperCustomizer {
    /** Deepest nesting of a request body: Jackson's default, so a value is at most this deep. */
    public static final int REQUEST_DEPTH = StreamReadConstraints.DEFAULT_MAX_DEPTH;
    /**
     * Deepest nesting the application's mapper reads and writes: a value as deep as a request may
     * bring, inside the few levels an answer or a record puts around it (a reconciliation's items, a
     * forwarded transaction's writes). At Jackson's default, a value 998 deep that a PUT accepted
     * failed every reconciliation it was part of at a mirror, other keys' strong reads with it.
     */
    public static final int WRAPPED_DEPTH = REQUEST_DEPTH + 64;
    /**
     * Deepest nesting of a transaction's body: a write's value sits three levels down (the body, its
     * {@code writes}, the write), so a value as deep as a PUT accepts fits. At {@link #REQUEST_DEPTH}, a
     * value 998–1000 deep that a PUT committed was refused in a transaction, and a mirror's speculative PUT
     * of it, sent as one, was rolled back (and, recorded before a restart, could not be resumed).
     */
    public static final int TRANSACTION_DEPTH = REQUEST_DEPTH + 3;

    @Override
    public void customize(ObjectMapper mapper) {
        mapper.enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
        mapper.configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);
        mapper.registerModule(ExactTree.MODULE); // -0 stays -0 (see ExactTree)
        nesting(mapper.getFactory(), WRAPPED_DEPTH);
        // A character outside the BMP (an emoji) is written as its four UTF-8 bytes, as it was sent,
        // not as the escaped surrogate pair "\uD83D\uDE00" Jackson writes by default (the same string
        // to a JSON reader, but three times the bytes, and not what the client wrote).
        mapper.getFactory().enable(JsonGenerator.Feature.COMBINE_UNICODE_SURROGATES_IN_UTF8);
    }

    /** Sets how deep {@code factory} reads and writes, its other constraints kept. */
    static void nesting(JsonFactory factory, int depth) {
        factory.setStreamReadConstraints(factory.streamReadConstraints().rebuild().maxNestingDepth(depth).build());
        factory.setStreamWriteConstraints(factory.streamWriteConstraints().rebuild().maxNestingDepth(depth).build());
    }

    /**
     * A tree reader of {@code mapper} for request bodies: numbers read exactly, however the mapper is
     * configured, and strictly, since a body is what a client meant only if it is one JSON value: data
     * after it ({@code 1 2}, {@code {"a":1}{"b":2}}) and a field given twice ({@code {"id":"a","id":"b"}},
     * whose last copy used to win silently) are malformed.
     */
    public static ObjectReader treeReader(ObjectMapper mapper) {
        return treeReader(mapper, REQUEST_DEPTH);
    }

    /** {@link #treeReader(ObjectMapper)} for bodies that may nest as deep as {@code depth}. */
    public static ObjectReader treeReader(ObjectMapper mapper, int depth) {
        ObjectMapper requests = mapper.copy(); // held to depth, whatever the mapper allows
        requests.registerModule(ExactTree.MODULE);
        nesting(requests.getFactory(), depth);
        return requests.readerFor(JsonNode.class)
                .with(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .with(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
                .without(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES);
    }
}
