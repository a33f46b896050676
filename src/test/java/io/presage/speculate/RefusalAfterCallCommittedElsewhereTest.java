package io.presage.speculate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.coord.TxnSpec;
import io.presage.proc.Procedure;
import io.presage.proc.Procedures;

/**
 * A call (client id "pay") speculated at a mirror loses its attempt 0, and meanwhile the same call commits
 * elsewhere: the client retried it at the coordinator, whose runner found #0 aborted and committed #1. The
 * mirror's re-execution reads the latest data, where the money has gone, and the transfer refuses. The
 * call did commit, once, and the coordinator answers its id with that commit; reported ROLLED_BACK
 * ("nothing committed"), a client would send it again under a new id and pay twice.
 */
class RefusalAfterCallCommittedElsewhereTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Procedure TRANSFER = Procedures.get("transfer");

    private final ToyCoordinator coordinator = new ToyCoordinator();
    private final ToyCoordinator.AppliedLog log = new ToyCoordinator.AppliedLog();
    private final Finished finished = new Finished();
    private final Speculator speculator = new Speculator(coordinator, new AttemptJournal(), (seq, stream) -> log.await(seq), JSON, "m1",
            finished, 1, 4, 1, 8);

    @Test
    void aReexecutionThatRefusesBecauseItsCallCommittedElsewhereReportsThatCommitNotARollback() throws Exception {
        coordinator.put("a", 10);
        coordinator.put("b", 0);
        Speculator.Snapshot local = coordinator.snapshot(List.of("a", "b"));
        coordinator.put("a", 15); // the mirror has not seen this: its attempt 0 will lose certification
        JsonNode args = JSON.readTree("{\"from\":\"a\",\"to\":\"b\",\"amount\":10}");

        coordinator.hold("pay#0", false); // the mirror's attempt 0 is still running at the coordinator...
        Speculation s = new Speculation("pay");
        speculator.procedure(s, TRANSFER, args, local, true);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!coordinator.holding("pay#0") && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(coordinator.holding("pay#0"));
        // ...when the client's retry at the coordinator commits attempt 1 (taking #0 as aborted), on fresh data.
        Speculator.Snapshot fresh = coordinator.snapshot(List.of("a", "b"));
        assertInstanceOf(CoordinatorAnswer.Committed.class, coordinator.commit(new TxnSpec("pay#1",
                List.of(new TxnSpec.Read("a", fresh.versions().get("a")), new TxnSpec.Read("b", fresh.versions().get("b"))),
                List.of(new TxnSpec.Write("a", "5".getBytes()), new TxnSpec.Write("b", "10".getBytes())), "coordinator",
                "{\"a\":5,\"b\":10}")).get());
        coordinator.releaseNow("pay#0"); // answered ABORTED: the mirror re-executes, on a = 5, and the transfer refuses

        log.advance(Long.MAX_VALUE);
        finished.await(s);
        assertEquals(List.of("pay#1"), coordinator.committedIds, "the call committed once, elsewhere");
        assertEquals(Speculation.Status.REEXECUTED, s.view().status(),
                "the call committed (as pay#1), but the mirror reports " + s.view());
        assertEquals(5, s.view().result().path("a").asInt(), "the result that committed");
        assertTrue(s.view().sequence() > 0, "the commit's token is shown");
    }
}
