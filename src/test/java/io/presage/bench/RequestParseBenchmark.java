package io.presage.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Setup;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;

import io.presage.api.ExactNumbers;
import io.presage.testing.NanosPerOpBenchmark;

/**
 * Reading a transaction's body into a tree, as every {@code POST /v1/transactions} does: the request
 * reader Presage uses ({@link ExactNumbers#treeReader}, whose {@code ExactTree} keeps a negative zero)
 * beside Jackson's own tree reader with the same settings, on the body {@code bench commit} sends (two
 * reads, two writes). What keeping {@code -0} costs on the commit path:
 * {@code ./presage bench jmh RequestParseBenchmark -prof gc}.
 */
public class RequestParseBenchmark extends NanosPerOpBenchmark {
    private final ObjectReader presage = ExactNumbers.treeReader(new ObjectMapper());
    private final ObjectReader jackson = new ObjectMapper().readerFor(JsonNode.class)
            .with(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
            .with(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .with(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .without(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES);
    private byte[] body;

    @Setup
    public void setUp() {
        body = ("{\"reads\":[{\"key\":\"bench-k12345\",\"version\":914523012387045376},"
                + "{\"key\":\"bench-k67890\",\"version\":914523012974247936}],"
                + "\"writes\":[{\"key\":\"bench-k12345\",\"value\":1001},{\"key\":\"bench-k67890\",\"value\":999}]}")
                .getBytes(StandardCharsets.UTF_8);
    }

    @Benchmark
    public JsonNode presageReader() throws IOException {
        return presage.readTree(body);
    }

    @Benchmark
    public JsonNode jacksonReader() throws IOException {
        return jackson.readTree(body);
    }
}
