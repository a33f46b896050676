package io.presage.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** A query parameter is found by its name as the framework decodes it, its value left raw. */
class KeysQueryTest {

    @Test
    void aParameterIsFoundByItsDecodedNameAndAnEmptyValueIsKept() {
        assertEquals("p1", Keys.rawQueryValue("id=p1", "id"));
        assertEquals("", Keys.rawQueryValue("id=", "id"), "empty, not absent");
        assertEquals("", Keys.rawQueryValue("x=1&id", "id"));
        // %69 is 'i': the framework reads this name as "id", so must the raw lookup, or the call would
        // run under no id at all.
        assertEquals("p%2F1", Keys.rawQueryValue("%69d=p%2F1", "id"));
        assertNull(Keys.rawQueryValue("idx=1&%ZZ=2", "id"));
        assertNull(Keys.rawQueryValue(null, "id"));
    }
}
