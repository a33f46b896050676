package io.presage.api;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.coord.TxnSpec;
import io.presage.testing.TestLimits;

/** A value's limits hold for the value as stored, and what a request may bring the application can wrap. */
class ValueLimitsTest {

    private static ObjectMapper appMapper() {
        ObjectMapper m = new ObjectMapper();
        new ExactNumbers().customize(m);
        return m;
    }

    private static String nested(int depth) {
        return "[".repeat(depth) + "]".repeat(depth);
    }

    @Test
    void aPutWhoseStoredFormIsOverTheValueLimitIsTooLargeThoughItsBodyIsUnder() {
        RequestParser p = new RequestParser(appMapper(), new TestLimits(512, 200, 1000, 1 << 23, 1000));
        // 10 numbers of 19 bytes as sent, each 20 bytes as stored (1.23456789012345E+61).
        String body = "[" + String.join(",", java.util.Collections.nCopies(10, "123456789012345e47")) + "]";
        assertTrue(body.length() <= 200, body.length() + " bytes as sent");
        ApiException e = assertThrows(ApiException.class, () -> p.value(body.getBytes(StandardCharsets.UTF_8)));
        assertEquals("TOO_LARGE", e.code());
        assertTrue(e.getMessage().startsWith("the value is 211 bytes as stored"), e.getMessage());
        // The same in a transaction's write was already refused: both now agree.
        byte[] txn = ("{\"writes\":[{\"key\":\"k\",\"value\":" + body + "}]}").getBytes(StandardCharsets.UTF_8);
        assertEquals("TOO_LARGE", assertThrows(ApiException.class, () -> p.transaction(txn, "c")).code());
    }

    @Test
    void theDeepestValueARequestMayBringIsReadAndWrittenAgainInsideAnAnswer() throws Exception {
        ObjectMapper app = appMapper();
        RequestParser p = new RequestParser(app, TestLimits.defaults());
        String deepest = nested(ExactNumbers.REQUEST_DEPTH);
        byte[] stored = p.value(deepest.getBytes(StandardCharsets.UTF_8));
        assertEquals(deepest, new String(stored, StandardCharsets.UTF_8));
        ApiException tooDeep = assertThrows(ApiException.class,
                () -> p.value(nested(ExactNumbers.REQUEST_DEPTH + 1).getBytes(StandardCharsets.UTF_8)));
        assertEquals("BAD_REQUEST", tooDeep.code());

        // In a transaction's write, three levels down, it is accepted too: a value a PUT commits can be
        // committed in a transaction (a mirror sends its speculative PUT as one); one deeper is not.
        TxnSpec txn = p.transaction(("{\"writes\":[{\"key\":\"k\",\"value\":" + deepest + "}]}").getBytes(StandardCharsets.UTF_8), "c");
        assertArrayEquals(stored, txn.writes().get(0).valueJson());
        String deeper = nested(ExactNumbers.REQUEST_DEPTH + 1);
        assertEquals("BAD_REQUEST", assertThrows(ApiException.class, () -> p.transaction(
                ("{\"writes\":[{\"key\":\"k\",\"value\":" + deeper + "}]}").getBytes(StandardCharsets.UTF_8), "c")).code());

        // A reconciliation's answer puts it three levels down; a mirror reads it and writes the value again.
        String answer = "{\"items\":[{\"key\":\"k\",\"found\":true,\"value\":" + deepest + ",\"version\":1}],\"sequence\":1}";
        JsonNode root = app.readTree(answer);
        JsonNode value = root.path("items").get(0).path("value");
        assertArrayEquals(stored, app.writeValueAsBytes(value));
        assertEquals(answer, app.writeValueAsString(root));
    }
}
