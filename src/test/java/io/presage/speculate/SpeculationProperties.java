package io.presage.speculate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.proc.Procedures;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** Concurrent speculative increments of one counter, with lost answers and outages, against a certifying coordinator. */
class SpeculationProperties {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Property(tries = 60)
    void everySpeculationThatSaysItCommittedCommittedExactlyOnceAndNoOtherDid(
            @ForAll @IntRange(min = 1, max = 12) int calls, @ForAll @IntRange(min = 0, max = 4) int lostAnswers,
            @ForAll @IntRange(min = 0, max = 4) int outages) throws Exception {
        ToyCoordinator coordinator = new ToyCoordinator();
        ToyCoordinator.AppliedLog log = new ToyCoordinator.AppliedLog();
        coordinator.loseAnswers = lostAnswers;
        coordinator.unavailable = outages;
        CountDownLatch done = new CountDownLatch(calls);
        Speculator speculator = new Speculator(coordinator, new AttemptJournal(), (seq, stream) -> log.await(seq), JSON, "m1", s -> done.countDown(), 1, 4, 1, 8);
        List<Speculation> all = new ArrayList<>();
        ExecutorService clients = Executors.newFixedThreadPool(4);
        try {
            for (int i = 0; i < calls; i++) {
                Speculation s = new Speculation("c" + i);
                all.add(s);
                clients.execute(() -> speculator.procedure(s, Procedures.get("increment"), JSON.createObjectNode().put("key", "n"),
                        coordinator.snapshot(List.of("n")), false));
            }
            log.advance(Long.MAX_VALUE);
            assertTrue(done.await(30, TimeUnit.SECONDS), "every speculation finished");
        } finally {
            clients.shutdownNow();
        }

        Set<Integer> committedResults = new TreeSet<>();
        for (Speculation s : all) {
            Speculation.View v = s.view();
            long commits = coordinator.committedIds.stream().filter(id -> id.startsWith(s.id() + "#")).count();
            if (v.status() == Speculation.Status.ROLLED_BACK) {
                assertEquals(0, commits, s.id() + " was rolled back but committed");
            } else {
                assertEquals(1, commits, s.id() + " " + v.status() + " must have committed exactly once");
                assertTrue(committedResults.add(v.result().asInt()), "two speculations claim result " + v.result());
                assertEquals(v.status() == Speculation.Status.REEXECUTED, v.attempts() > 1, v.toString());
            }
        }
        int counter = coordinator.value("n") == null ? 0 : coordinator.value("n").asInt();
        assertEquals(committedResults.size(), counter, "the counter counts the commits the speculations report");
        Set<Integer> expected = new TreeSet<>();
        for (int i = 1; i <= counter; i++) {
            expected.add(i);
        }
        assertEquals(expected, committedResults, "each reported result is the value its commit wrote");
    }
}
