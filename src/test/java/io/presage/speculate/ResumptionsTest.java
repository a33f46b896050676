package io.presage.speculate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import org.junit.jupiter.api.Test;

class ResumptionsTest {
    private final SpeculationTable table = new SpeculationTable(2, 100, 60_000);
    private final List<String> resumed = new ArrayList<>();
    private final Resumptions<String> resumptions = new Resumptions<>(table, Function.identity(), (s, id) -> resumed.add(s.id()));

    @Test
    void aRecordedSpeculationWhoseIdAClientHoldsOrThatFindsNoSlotIsResumedOnceItCanBe() {
        SpeculationTable.Claim clientsRetry = table.claim("a"); // a client retried "a" right after the restart
        assertNotNull(clientsRetry);
        resumptions.add(List.of("a", "b", "c"));

        assertEquals(1, resumptions.retry());
        assertEquals(List.of("b"), resumed, "a is held by the client's claim, and c finds the table full");
        assertEquals(2, resumptions.waiting());

        table.abandon(clientsRetry.speculation()); // its record refused: the store knows "a" from before
        assertEquals(1, resumptions.retry());
        assertEquals(List.of("b", "a"), resumed);

        Speculation b = table.get("b");
        b.finish(b.committed(false), System.currentTimeMillis());
        table.finished(b);
        assertEquals(1, resumptions.retry());
        assertEquals(List.of("b", "a", "c"), resumed, "every one resumed in the end, each once");
        assertEquals(0, resumptions.waiting());
        assertEquals(0, resumptions.retry());
    }

    /**
     * A client's retry took the recorded speculation over and it was decided: the waiting id is dropped
     * rather than kept until memory forgets the decided one, and then resumed a second time.
     */
    @Test
    void aRecordedSpeculationTakenOverByARetryAndDecidedIsNoLongerWaitedFor() {
        Speculation a = table.claim("a").speculation(); // the retry's claim, which took "a" over
        resumptions.add(List.of("a"));
        a.finish(a.committed(false), System.currentTimeMillis());
        table.finished(a);

        assertEquals(0, resumptions.retry());
        assertEquals(0, resumptions.waiting());
        assertEquals(List.of(), resumed);
    }
}
