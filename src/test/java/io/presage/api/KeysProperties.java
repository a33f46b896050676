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
    void idLengthIsCountedInCharacters() {
        assertEquals("i".repeat(128), Keys.checkId("i".repeat(128), 128, "id"));
        assertThrows(ApiException.class, () -> Keys.checkId("i".repeat(129), 128, "id"));
        assertThrows(ApiException.class, () -> Keys.checkId("", 128, "id"));
    }

    @Example
    void aNulOrALoneSurrogateIsNamedInTheMessage() {
        assertEquals("id contains a control character at position 1",
                assertThrows(ApiException.class, () -> Keys.checkId("x\u0000y", 128, "id")).getMessage());
        assertEquals("id is not valid UTF-8 text",
                assertThrows(ApiException.class, () -> Keys.checkId("x\ud800", 128, "id")).getMessage());
        assertEquals("caf\u00e9 \ud83d\ude00", Keys.checkId("caf\u00e9 \ud83d\ude00", 128, "id"));
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
