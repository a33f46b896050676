package io.presage.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The hand-written vector clock writer against Jackson, which wrote the stored clocks before it. */
class VclocksProperties {
    private static final ObjectMapper JACKSON = new ObjectMapper();

    @Provide
    Arbitrary<Map<String, Long>> clocks() {
        // Node ids with quotes, backslashes, control characters and non-ASCII, which must be escaped.
        Arbitrary<String> nodes = Arbitraries.oneOf(
                Arbitraries.strings().alpha().numeric().withChars('-', '_').ofMinLength(1).ofMaxLength(12),
                Arbitraries.strings().all().ofMaxLength(8));
        Arbitrary<Long> timestamps = Arbitraries.longs();
        Arbitrary<Map<String, Long>> hashed = Arbitraries.maps(nodes, timestamps).ofMaxSize(6);
        return Arbitraries.oneOf(hashed, hashed.map(TreeMap::new), hashed.map(LinkedHashMap::new),
                Arbitraries.entries(nodes, timestamps).map(e -> Map.of(e.getKey(), e.getValue())));
    }

    @Property(tries = 1_000)
    void anyClockIsWrittenExactlyAsJacksonWroteItsSortedCopy(@ForAll("clocks") Map<String, Long> clock) throws Exception {
        assertEquals(JACKSON.writeValueAsString(new TreeMap<>(clock)), Vclocks.write(clock));
    }

    @Property(tries = 1_000)
    void anyClockReadsBackEqual(@ForAll("clocks") Map<String, Long> clock) {
        assertEquals(new TreeMap<>(clock), Vclocks.parse(Vclocks.write(clock)));
    }

    @Test
    void aClockSortedOtherwiseIsWrittenInNodeIdOrder() {
        TreeMap<String, Long> reversed = new TreeMap<>(java.util.Comparator.reverseOrder());
        reversed.put("a", 1L);
        reversed.put("b", 2L);
        assertEquals("{\"a\":1,\"b\":2}", Vclocks.write(reversed));
        Map<String, Long> hashed = new HashMap<>(Map.of("mirror-2", 7L, "coordinator", 9L, "mirror-10", 8L));
        assertEquals("{\"coordinator\":9,\"mirror-10\":8,\"mirror-2\":7}", Vclocks.write(hashed));
        assertEquals("{}", Vclocks.write(Map.of()));
    }
}
