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

    @Test
    void aTransferThatWouldGrowTheTargetBeyondAThousandDigitsIsRefused() throws Exception {
        Procedure transfer = Procedures.get("transfer");
        ProcedureException e = assertThrows(ProcedureException.class, () -> transfer.plan(
                args("{\"from\":\"a\",\"to\":\"b\",\"amount\":1}"), Map.of("a", number("5"), "b", number("9".repeat(1000)))));
        assertEquals("NUMBER_TOO_LONG", e.reason());
    }
}
