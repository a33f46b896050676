package io.presage.proc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import org.junit.jupiter.api.Test;

/** The transfer procedure moves exactly its amount, allows emptying an account and refuses any overdraft. */
class TransferRulesTest {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private final Procedure transfer = Procedures.get("transfer");

    private static JsonNode args(String json) throws Exception {
        return MAPPER.readTree(json);
    }

    private static Map<String, JsonNode> balances(long a, long b) {
        Map<String, JsonNode> m = new HashMap<>();
        m.put("a", JSON.numberNode(a));
        m.put("b", JSON.numberNode(b));
        return m;
    }

    @Test
    void aTransferOfTheWholeBalanceIsAllowedAndConservesTheTotal() throws Exception {
        Procedure.Plan p = transfer.plan(args("{\"from\":\"a\",\"to\":\"b\",\"amount\":5}"), balances(5, 7));
        assertEquals(BigInteger.ZERO, p.writes().get("a").bigIntegerValue(), "a emptied, not overdrawn");
        assertEquals(BigInteger.valueOf(12), p.writes().get("b").bigIntegerValue());
        assertEquals(p.writes().get("a"), p.result().get("a"));
        assertEquals(p.writes().get("b"), p.result().get("b"));
    }

    @Test
    void aTransferOfOneMoreThanTheBalanceIsRefusedAsInsufficientFunds() throws Exception {
        ProcedureException e = assertThrows(ProcedureException.class,
                () -> transfer.plan(args("{\"from\":\"a\",\"to\":\"b\",\"amount\":6}"), balances(5, 7)));
        assertEquals("INSUFFICIENT_FUNDS", e.reason());
        assertFalse(e.badInput(), "a business refusal (409), not bad input");
        // A missing source account holds 0: any transfer from it is an overdraft.
        Map<String, JsonNode> none = new HashMap<>();
        ProcedureException missing = assertThrows(ProcedureException.class,
                () -> transfer.plan(args("{\"from\":\"a\",\"to\":\"b\",\"amount\":1}"), none));
        assertEquals("INSUFFICIENT_FUNDS", missing.reason());
    }

    @Test
    void aTransferNamesBothKeysAndRefusesASelfTransferOrANonPositiveAmount() throws Exception {
        assertEquals(List.of("a", "b"), transfer.keys(args("{\"from\":\"a\",\"to\":\"b\",\"amount\":1}")));
        for (String bad : List.of(
                "{\"from\":\"a\",\"to\":\"a\",\"amount\":1}",
                "{\"from\":\"a\",\"to\":\"b\",\"amount\":0}",
                "{\"from\":\"a\",\"to\":\"b\",\"amount\":-3}",
                "{\"from\":\"a\",\"to\":\"b\",\"amount\":1.5}",
                "{\"from\":\"a\",\"to\":\"b\"}")) {
            ProcedureException e = assertThrows(ProcedureException.class, () -> transfer.keys(args(bad)), bad);
            assertTrue(e.badInput(), bad);
        }
        ProcedureException empty = assertThrows(ProcedureException.class,
                () -> transfer.keys(args("{\"from\":\"\",\"to\":\"b\",\"amount\":1}")));
        assertTrue(empty.isInvalidKey());
    }
}
