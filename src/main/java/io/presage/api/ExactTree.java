package io.presage.api;

import java.io.IOException;
import java.math.BigDecimal;
import java.util.ArrayDeque;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.DeserializationContext;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.deser.std.StdDeserializer;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ContainerNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Reads a JSON tree with every number as written: integers as int, long or BigInteger (whichever
 * fits), numbers with a fraction or exponent as decimals with their trailing zeros, and a negative
 * zero ({@code -0}, {@code -0.0}) as a {@link NegativeZero} that is written back with its sign.
 * Jackson's own tree reader cannot keep the sign (an int and a BigDecimal have no negative zero), so
 * a value {@code -0} was stored, and read back, as {@code 0}. Nesting is walked with a stack of
 * its own, not recursion: the parser's depth limit (see {@link ExactNumbers}) is what bounds it.
 */
final class ExactTree extends StdDeserializer<JsonNode> {
    /** Registers this reader for {@code JsonNode} (readTree and every JsonNode-typed read). */
    static final SimpleModule MODULE = new SimpleModule("presage-exact-tree").addDeserializer(JsonNode.class, new ExactTree());

    private ExactTree() {
        super(JsonNode.class);
    }

    @Override
    public JsonNode getNullValue(DeserializationContext ctxt) {
        return NullNode.getInstance();
    }

    @Override
    public JsonNode deserialize(JsonParser p, DeserializationContext ctxt) throws IOException {
        JsonNodeFactory f = ctxt.getNodeFactory();
        boolean strictKeys = ctxt.isEnabled(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);
        ArrayDeque<ContainerNode<?>> open = new ArrayDeque<>();
        JsonNode root = null;
        String name = null;
        JsonToken t = p.currentToken();
        if (t == JsonToken.FIELD_NAME) { // called inside an object whose start was consumed (buffered input)
            root = f.objectNode();
            open.push((ObjectNode) root);
        }
        for (;; t = p.nextToken()) {
            JsonNode node;
            switch (t == null ? JsonToken.NOT_AVAILABLE : t) {
                case FIELD_NAME -> {
                    name = p.currentName();
                    continue;
                }
                case END_OBJECT, END_ARRAY -> {
                    open.pop();
                    if (open.isEmpty()) {
                        return root;
                    }
                    continue;
                }
                case START_OBJECT -> node = f.objectNode();
                case START_ARRAY -> node = f.arrayNode();
                case VALUE_STRING -> node = f.textNode(p.getText());
                case VALUE_NUMBER_INT -> node = integer(p, f);
                case VALUE_NUMBER_FLOAT -> node = decimal(p, f);
                case VALUE_TRUE -> node = f.booleanNode(true);
                case VALUE_FALSE -> node = f.booleanNode(false);
                case VALUE_NULL -> node = f.nullNode();
                case VALUE_EMBEDDED_OBJECT -> node = f.pojoNode(p.getEmbeddedObject());
                default -> {
                    return (JsonNode) ctxt.handleUnexpectedToken(JsonNode.class, p);
                }
            }
            ContainerNode<?> parent = open.peek();
            if (parent == null) {
                root = node;
            } else if (parent instanceof ObjectNode o) {
                if (o.replace(name, node) != null && strictKeys) {
                    return ctxt.reportInputMismatch(JsonNode.class, "Duplicate field '%s' for `ObjectNode`: not allowed "
                            + "when `DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY` enabled", name);
                }
            } else {
                ((ArrayNode) parent).add(node);
            }
            if (node instanceof ContainerNode<?> c) {
                open.push(c);
            } else if (parent == null) {
                return node;
            }
        }
    }

    private static JsonNode integer(JsonParser p, JsonNodeFactory f) throws IOException {
        return switch (p.getNumberType()) {
            case INT -> {
                int v = p.getIntValue();
                yield v == 0 && negative(p) ? NegativeZero.INTEGER : f.numberNode(v);
            }
            case LONG -> f.numberNode(p.getLongValue());
            default -> f.numberNode(p.getBigIntegerValue());
        };
    }

    private static JsonNode decimal(JsonParser p, JsonNodeFactory f) throws IOException {
        if (p.isNaN()) { // only where a mapper allows NaN and Infinity, which are no JSON
            return f.numberNode(p.getDoubleValue());
        }
        BigDecimal d = p.getDecimalValue();
        // Not through the factory, which may strip trailing zeros: 1.50 stays 1.50.
        return d.signum() == 0 && negative(p) ? new NegativeZero(d) : DecimalNode.valueOf(d);
    }

    private static boolean negative(JsonParser p) throws IOException {
        return p.getText().startsWith("-");
    }
}
