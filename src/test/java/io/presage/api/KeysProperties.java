package io.presage.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * Keys and transaction ids are stored as PostgreSQL text: what the API accepts must come back from a
 * UTF-8 round trip unchanged and hold no NUL, and what it refuses is refused with the API's 400.
 */
class KeysProperties {

    @Property(tries = 3_000)
    void anIdIsAcceptedExactlyWhenItIsStorableText(@ForAll("anyText") String id) {
        boolean storable = new String(id.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8).equals(id)
                && id.chars().noneMatch(Character::isISOControl);
        if (storable) {
            assertEquals(id, Keys.checkId(id, 128, "id"));
        } else {
            ApiException e = assertThrows(ApiException.class, () -> Keys.checkId(id, 128, "id"));
            assertEquals("BAD_REQUEST", e.code());
        }
    }

    @Property(tries = 3_000)
    void aKeyIsAcceptedExactlyWhenItIsStorableText(@ForAll("anyText") String key) {
        boolean storable = new String(key.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8).equals(key)
                && key.chars().noneMatch(Character::isISOControl);
        if (storable) {
            assertEquals(key, Keys.check(key, 512));
        } else {
            ApiException e = assertThrows(ApiException.class, () -> Keys.check(key, 512));
            assertEquals("INVALID_KEY", e.code());
        }
    }

    @Example
    void keyLengthIsCountedInUtf8Bytes() {
        assertEquals("k".repeat(512), Keys.check("k".repeat(512), 512));
        assertThrows(ApiException.class, () -> Keys.check("k".repeat(513), 512));
        // Characters of two, three and four bytes: few enough characters, too many bytes.
        assertEquals("\u00e9".repeat(256), Keys.check("\u00e9".repeat(256), 512));
        assertThrows(ApiException.class, () -> Keys.check("\u00e9".repeat(257), 512));
        assertThrows(ApiException.class, () -> Keys.check("\u65e5".repeat(171), 512), "171 characters, 513 bytes");
        assertThrows(ApiException.class, () -> Keys.check("\uD83D\uDE00".repeat(129), 512), "258 UTF-16 units, 516 bytes");
        assertEquals("\uD83D\uDE00".repeat(128), Keys.check("\uD83D\uDE00".repeat(128), 512));
    }

    @Example
    void idLengthIsCountedInCharacters() {
        assertEquals("i".repeat(128), Keys.checkId("i".repeat(128), 128, "id"));
        assertThrows(ApiException.class, () -> Keys.checkId("i".repeat(129), 128, "id"));
        assertThrows(ApiException.class, () -> Keys.checkId("", 128, "id"));
        // Characters as API.md counts them, not UTF-16 units: 128 emoji (256 units) are 128 characters.
        String emoji = "\uD83D\uDE00";
        assertEquals(emoji.repeat(128), Keys.checkId(emoji.repeat(128), 128, "id"));
        assertThrows(ApiException.class, () -> Keys.checkId(emoji.repeat(129), 128, "id"));
    }

    @Example
    void aNulOrALoneSurrogateIsNamedInTheMessage() {
        assertEquals("id contains a control character at position 1",
                assertThrows(ApiException.class, () -> Keys.checkId("x\u0000y", 128, "id")).getMessage());
        assertEquals("id is not valid UTF-8 text",
                assertThrows(ApiException.class, () -> Keys.checkId("x\ud800", 128, "id")).getMessage());
        assertEquals("caf\u00e9 \ud83d\ude00", Keys.checkId("caf\u00e9 \ud83d\ude00", 128, "id"));
    }

    /**
     * Oracle: the JDK's encoder. Any text that survives a UTF-8 round trip, percent-encoded the way a
     * form encodes it, decodes back to itself, in the path ({@code +} kept) and in the query ({@code +}
     * a space).
     */
    @Property(tries = 3_000)
    void percentEncodedTextDecodesToItself(@ForAll("anyText") String text) {
        net.jqwik.api.Assume.that(new String(text.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8).equals(text));
        String form = java.net.URLEncoder.encode(text, StandardCharsets.UTF_8);
        assertEquals(text, Keys.percentDecoded(form, true));
        assertEquals(text, Keys.percentDecoded(form.replace("+", "%20"), false));
        assertEquals(text, Keys.percentDecoded(text.replace("%", "%25").replace("+", "%2B"), true), "unescaped characters stay");
    }

    /**
     * Oracle: a lenient decode and re-encode of the bytes gives them back exactly when they are UTF-8.
     * Escapes of bytes that are not are refused, never turned into U+FFFD.
     */
    @Property(tries = 3_000)
    void escapesOfBytesThatAreNotUtf8AreRefused(@ForAll byte[] bytes) {
        StringBuilder escaped = new StringBuilder();
        for (byte b : bytes) {
            escaped.append(String.format("%%%02X", b & 0xff));
        }
        String lenient = new String(bytes, StandardCharsets.UTF_8);
        if (java.util.Arrays.equals(lenient.getBytes(StandardCharsets.UTF_8), bytes)) {
            assertEquals(lenient, Keys.percentDecoded(escaped.toString(), false));
        } else {
            ApiException e = assertThrows(ApiException.class, () -> Keys.fromPath(escaped.toString()));
            assertEquals("INVALID_KEY", e.code());
        }
    }

    @Example
    void twoDifferentBadEscapesAreRefusedRatherThanReadAsOneKey() {
        assertEquals("key in the path is not valid UTF-8 once its %-escapes are decoded",
                assertThrows(ApiException.class, () -> Keys.fromPath("k%FF")).getMessage());
        assertThrows(ApiException.class, () -> Keys.fromPath("k%FE"));
        assertEquals("k\ufffd", Keys.fromPath("k%EF%BF%BD"), "a real U+FFFD is a key like any other");
        assertEquals("id has a '%' at position 1 not followed by two hex digits",
                assertThrows(ApiException.class, () -> Keys.idFromUrl("a%4", true, "id")).getMessage());
        assertThrows(ApiException.class, () -> Keys.idFromUrl("a%zz", true, "id"));
        assertEquals("a b+c/d", Keys.idFromUrl("a+b%2Bc%2Fd", true, "id"));
        assertEquals("a+b", Keys.fromPath("a+b"), "a + in a path is a +");
    }

    /** Mostly printable text, with control characters and surrogates (paired or not) mixed in. */
    @Provide
    Arbitrary<String> anyText() {
        Arbitrary<Character> printable = Arbitraries.chars().range(' ', '\u2fff');
        Arbitrary<Character> control = Arbitraries.of('\u0000', '\u0001', '\n', '\u007f', '\u009f');
        Arbitrary<Character> surrogate = Arbitraries.chars().range('\ud800', '\udfff');
        return Arbitraries.frequencyOf(net.jqwik.api.Tuple.of(20, printable), net.jqwik.api.Tuple.of(1, control),
                net.jqwik.api.Tuple.of(2, surrogate)).list().ofMinSize(1).ofMaxSize(12)
                .map(cs -> {
                    StringBuilder b = new StringBuilder();
                    cs.forEach(b::append);
                    return b.toString();
                });
    }
}
