package io.presage.api;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.node.NumericNode;

/**
 * A JSON number that is zero with a minus sign ({@code -0}, {@code -0.0}, {@code -0E+5}), read by
 * {@link ExactTree}. It counts as zero everywhere (a procedure adds to it as to 0) and is written back
 * as sent, sign and scale kept: "a value is any JSON value" (API.md), and JSON's {@code -0} is not
 * {@code 0} to a client that reads it as a double.
 */
final class NegativeZero extends NumericNode {
    static final NegativeZero INTEGER = new NegativeZero(null);

    /** The zero with its scale ({@code -0.00} is {@code 0.00}), null for the integer {@code -0}. */
    private final BigDecimal zero;

    NegativeZero(BigDecimal zero) {
        this.zero = zero;
    }

    private boolean integral() {
        return zero == null;
    }

    @Override
    public JsonToken asToken() {
        return integral() ? JsonToken.VALUE_NUMBER_INT : JsonToken.VALUE_NUMBER_FLOAT;
    }

    @Override
    public JsonParser.NumberType numberType() {
        return integral() ? JsonParser.NumberType.INT : JsonParser.NumberType.BIG_DECIMAL;
    }

    @Override
    public boolean isIntegralNumber() {
        return integral();
    }

    @Override
    public boolean isFloatingPointNumber() {
        return !integral();
    }

    @Override
    public Number numberValue() {
        return integral() ? (Number) 0 : zero;
    }

    @Override
    public int intValue() {
        return 0;
    }

    @Override
    public long longValue() {
        return 0;
    }

    @Override
    public double doubleValue() {
        return -0.0;
    }

    @Override
    public BigDecimal decimalValue() {
        return integral() ? BigDecimal.ZERO : zero;
    }

    @Override
    public BigInteger bigIntegerValue() {
        return BigInteger.ZERO;
    }

    @Override
    public boolean canConvertToInt() {
        return true;
    }

    @Override
    public boolean canConvertToLong() {
        return true;
    }

    @Override
    public String asText() {
        return integral() ? "-0" : "-" + zero;
    }

    @Override
    public void serialize(JsonGenerator g, SerializerProvider provider) throws IOException {
        g.writeNumber(asText());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NegativeZero n && asText().equals(n.asText());
    }

    @Override
    public int hashCode() {
        return asText().hashCode();
    }
}
