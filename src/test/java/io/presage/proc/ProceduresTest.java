package io.presage.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigInteger;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import org.junit.jupiter.api.Test;

/** The registered procedures never write a number that a later read of the key could not parse. */
class ProceduresTest {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private static JsonNode args(String json) throws Exception {
        return MAPPER.readTree(json);
    }

    private static JsonNode number(String digits) {
        return JSON.numberNode(new BigInteger(digits));
    }

    @Test
    void anIncrementUpToAThousandDigitsIsWrittenAndOneBeyondIsRefused() throws Exception {
        Procedure increment = Procedures.get("increment");
        String nines999 = "9".repeat(999);
        JsonNode written = increment.plan(args("{\"key\":\"k\"}"), Map.of("k", number(nines999))).writes().get("k");
        assertEquals("1" + "0".repeat(999), written.bigIntegerValue().toString(), "1,000 digits: storable");
        // And readable again by the same reader a later call uses.
        assertEquals(written.bigIntegerValue(), MAPPER.readTree(written.toString()).bigIntegerValue());

        ProcedureException e = assertThrows(ProcedureException.class,
                () -> increment.plan(args("{\"key\":\"k\"}"), Map.of("k", number("9".repeat(1000)))));
        assertEquals("NUMBER_TOO_LONG", e.reason());
    }

    /** Arguments as the API reads them: decimals exact, -0 with its sign. */
    private static JsonNode exactArgs(String json) throws Exception {
        return io.presage.api.ExactNumbers.treeReader(MAPPER).readTree(json);
    }

    /**
     * {@code by} and {@code amount} are any JSON number that is an exact integer: {@code 1e3} was refused as
     * "not an integer" (JSON has one number type, and a client's serializer may write 1000 so). A fraction, a
     * string, or more digits than a value may have stay 400, whatever their form.
     */
    @Test
    void anIntegerInAnyJsonFormIsAnAmountAndAFractionOrStringIsNot() throws Exception {
        Procedure increment = Procedures.get("increment");
        Procedure transfer = Procedures.get("transfer");
        Map<String, String> integral = Map.of("1e3", "1000", "1E+3", "1000", "1000.0", "1000", "10E-1", "1", "-2e0", "-2",
                "-0", "0", "-0.0", "0", "12345678901234567890123e2", "1234567890123456789012300");
        for (Map.Entry<String, String> c : integral.entrySet()) {
            JsonNode written = increment.plan(exactArgs("{\"key\":\"k\",\"by\":" + c.getKey() + "}"), Map.of("k", number("5")))
                    .writes().get("k");
            assertEquals(new BigInteger(c.getValue()).add(BigInteger.valueOf(5)), written.bigIntegerValue(), "by " + c.getKey());
        }
        var moved = transfer.plan(exactArgs("{\"from\":\"a\",\"to\":\"b\",\"amount\":1e3}"),
                Map.of("a", number("1500"), "b", number("0"))).writes();
        assertEquals(BigInteger.valueOf(500), moved.get("a").bigIntegerValue());
        assertEquals(BigInteger.valueOf(1000), moved.get("b").bigIntegerValue());
        for (String bad : new String[] {"1.5", "1e-3", "\"1\"", "true", "[1]", "1e1000", "1e999999999", "-1.0000000001",
                "1e2147483647", "10e2147483647", "100e2147483647", "-1e2147483647"}) {
            ProcedureException e = assertThrows(ProcedureException.class,
                    () -> increment.keys(exactArgs("{\"key\":\"k\",\"by\":" + bad + "}")), "by " + bad);
            assertEquals("BAD_REQUEST", e.reason(), "by " + bad);
            e = assertThrows(ProcedureException.class,
                    () -> transfer.keys(exactArgs("{\"from\":\"a\",\"to\":\"b\",\"amount\":" + bad + "}")), "amount " + bad);
            assertEquals("BAD_REQUEST", e.reason(), "amount " + bad);
        }
        for (String notPositive : new String[] {"0", "-0", "0e5", "-1e3"}) {
            assertThrows(ProcedureException.class,
                    () -> transfer.keys(exactArgs("{\"from\":\"a\",\"to\":\"b\",\"amount\":" + notPositive + "}")), notPositive);
        }
    }

    /** A stored number past a long is incremented exactly, never wrapped; a stored 1E+3 (a PUT of 1e3) counts as 1000. */
    @Test
    void anIncrementPastALongIsExactAndAStoredIntegerInExponentFormCounts() throws Exception {
        Procedure increment = Procedures.get("increment");
        JsonNode written = increment.plan(exactArgs("{\"key\":\"k\"}"), Map.of("k", number(String.valueOf(Long.MAX_VALUE))))
                .writes().get("k");
        assertEquals("9223372036854775808", written.toString());
        written = increment.plan(exactArgs("{\"key\":\"k\",\"by\":-1}"), Map.of("k", number(String.valueOf(Long.MIN_VALUE))))
                .writes().get("k");
        assertEquals("-9223372036854775809", written.toString());
        written = increment.plan(exactArgs("{\"key\":\"k\"}"), Map.of("k", exactArgs("1e3"))).writes().get("k");
        assertEquals("1001", written.toString());
        ProcedureException e = assertThrows(ProcedureException.class,
                () -> increment.plan(exactArgs("{\"key\":\"k\"}"), Map.of("k", exactArgs("1.5"))));
        assertEquals("NOT_A_NUMBER", e.reason());
        for (String huge : new String[] {"1e2147483647", "100e2147483647"}) { // a PUT stores them (1E+2147483647)
            e = assertThrows(ProcedureException.class,
                    () -> increment.plan(exactArgs("{\"key\":\"k\"}"), Map.of("k", exactArgs(huge))), huge);
            assertEquals("NOT_A_NUMBER", e.reason(), huge);
        }
    }

    @Test
    void aTransferThatWouldGrowTheTargetBeyondAThousandDigitsIsRefused() throws Exception {
        Procedure transfer = Procedures.get("transfer");
        ProcedureException e = assertThrows(ProcedureException.class, () -> transfer.plan(
                args("{\"from\":\"a\",\"to\":\"b\",\"amount\":1}"), Map.of("a", number("5"), "b", number("9".repeat(1000)))));
        assertEquals("NUMBER_TOO_LONG", e.reason());
    }
}
