package io.presage.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.testing.TestLimits;

/**
 * Writes are kept within one log message: with NATS's default max_payload of 1 MB, the default 1 MB
 * value and 8 MB transaction limits could not all be published (a 1 MB PUT and a 7 MB transaction
 * answered 503 "Message payload size exceed server configuration" on the launcher's cluster, which no
 * retry cures).
 */
class RequestParserLogLimitTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long NATS_DEFAULT = 1 << 20;

    private static byte[] stringOf(int bytes) {
        return ("\"" + "v".repeat(bytes - 2) + "\"").getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aValueOrTransactionThatCannotFitInOneLogMessageIsTooLargeAndSaysWhy() {
        RequestParser p = new RequestParser(JSON, TestLimits.defaults(), () -> NATS_DEFAULT);
        int room = p.logRoom();
        assertTrue(room > 1_000_000 && room < NATS_DEFAULT, "most of the message, less framing: " + room);

        ApiException value = assertThrows(ApiException.class, () -> p.value(stringOf(1 << 20)));
        assertEquals("TOO_LARGE", value.code());
        assertTrue(value.getMessage().contains("max_payload is 1048576 bytes"), value.getMessage());
        assertEquals(room - 512, p.value(stringOf(room - 512)).length, "the largest value that fits, beside a 512-byte key");

        byte[] txn = ("{\"writes\":[{\"key\":\"k\",\"value\":" + new String(stringOf(room)) + "}]}").getBytes(StandardCharsets.UTF_8);
        ApiException t = assertThrows(ApiException.class, () -> p.transaction(txn, "coordinator"));
        assertEquals("TOO_LARGE", t.code());
        assertTrue(t.getMessage().startsWith("a transaction is " + txn.length + " bytes; the limit is " + room), t.getMessage());
    }

    @Test
    void withoutAKnownLogLimitOrBelowItTheConfiguredLimitsApplyAlone() {
        RequestParser unknown = new RequestParser(JSON, TestLimits.defaults(), () -> 0);
        assertEquals(1 << 20, unknown.value(stringOf(1 << 20)).length, "no log connected: the configured 1 MB");
        RequestParser small = new RequestParser(JSON, new TestLimits(512, 4096, 1000, 1 << 23, 1000), () -> NATS_DEFAULT);
        ApiException e = assertThrows(ApiException.class, () -> small.value(stringOf(4097)));
        assertEquals("the value is 4097 bytes; the limit is 4096", e.getMessage(), "the configured limit, no log note");
        assertFalse(e.getMessage().contains("max_payload"));
    }
}
