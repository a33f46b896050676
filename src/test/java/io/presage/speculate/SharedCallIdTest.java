package io.presage.speculate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.proc.Procedure;
import io.presage.proc.Procedures;

/**
 * The same call (client id "call") speculated at two mirrors (a client that retried at another
 * region, as the package comment allows). Mirror A's attempt "call#0" is still running at the
 * coordinator when mirror B asks whether the call committed (404: not yet) and sends its own, different
 * "call#0". The coordinator answers B's repeat of the id with A's outcome and the result kept with it.
 * B must report that commit (re-executed, A's result), not COMMITTED with its own plan's result, which
 * the coordinator never committed.
 */
class SharedCallIdTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Procedure INCREMENT = Procedures.get("increment");

    private final ToyCoordinator coordinator = new ToyCoordinator();
    private final ToyCoordinator.AppliedLog log = new ToyCoordinator.AppliedLog();
    private final CountDownLatch doneA = new CountDownLatch(1);
    private final CountDownLatch doneB = new CountDownLatch(1);
    private final Speculator mirrorA = new Speculator(coordinator, new AttemptJournal(), (seq, stream) -> log.await(seq), JSON, "mA",
            s -> doneA.countDown(), 1, 4, 1, 8);
    private final Speculator mirrorB = new Speculator(coordinator, new AttemptJournal(), (seq, stream) -> log.await(seq), JSON, "mB",
            s -> doneB.countDown(), 1, 4, 1, 8);

    @Test
    void aSpeculationAnsweredWithAnotherMirrorsCommitOfItsIdReportsThatCommitsResultAsReexecuted() throws Exception {
        coordinator.put("n", 4);
        Speculator.Snapshot atB = coordinator.snapshot(List.of("n")); // mirror B is one commit behind
        coordinator.put("n", 5);
        Speculator.Snapshot atA = coordinator.snapshot(List.of("n"));
        JsonNode args = JSON.readTree("{\"key\":\"n\",\"by\":1}");

        coordinator.hold("call#0", false); // A's attempt 0 is still running when B's arrives
        Speculation a = new Speculation("call");
        mirrorA.procedure(a, INCREMENT, args, atA, true);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!coordinator.holding("call#0") && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(coordinator.holding("call#0"));

        Speculation b = new Speculation("call");
        mirrorB.procedure(b, INCREMENT, args, atB, true); // not committed yet: B sends its own call#0 (n 4 -> 5)
        Thread.sleep(50);
        coordinator.releaseNow("call#0"); // A's plan (n 5 -> 6) commits; B's repeat of the id is answered with it
        log.advance(Long.MAX_VALUE);
        assertTrue(doneA.await(10, TimeUnit.SECONDS));
        assertTrue(doneB.await(10, TimeUnit.SECONDS));

        assertEquals(List.of("call#0"), coordinator.committedIds, "one commit between the two mirrors");
        assertEquals(6, coordinator.value("n").asInt());
        assertEquals(6, a.view().result().asInt());
        // B claims its speculation committed as speculated, with a result (5) that was never committed.
        assertEquals(Speculation.Status.REEXECUTED, b.view().status(),
                "B reports " + b.view().status() + " with result " + b.view().result() + "; the coordinator committed "
                        + coordinator.value("n"));
        assertEquals(6, b.view().result().asInt());
    }
}
