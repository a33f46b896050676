package io.presage.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

import io.presage.apply.ApplyHook.AppliedWrite;

class LogKnowledgeTest {
    private static final long NOW = 10_000_000;

    /**
     * Message i, committed at i ms, writes key "k" and is never applied. A look whose S counts message j
     * as known must find k pending at j or later: else it answers a copy it knows to be stale with the
     * confidence of a fresh one. The applier and a reader race for a while; any look that breaks it fails.
     */
    @Test
    void aLookNeverCountsAMessageInSWhosePendingEntryItMissed() throws Exception {
        LogKnowledge knowledge = new LogKnowledge(new PendingKeys(), new Staleness(0));
        int messages = 2_000_000;
        AtomicBoolean done = new AtomicBoolean();
        Thread applier = new Thread(() -> {
            for (long i = 1; i <= messages; i++) {
                knowledge.received(i, i, List.of(write("k", i)));
            }
            done.set(true);
        });
        applier.start();
        long looks = 0;
        long racing = 0;
        while (!done.get()) {
            LogKnowledge.Look look = knowledge.look("k", NOW, true, 0);
            long knownUpTo = NOW - Math.round(look.staleSeconds() * 1000); // the commit time S counts, = its sequence
            if (knownUpTo > 0 && knownUpTo <= messages) { // before the first message S is the propagation delay
                assertTrue(look.pendingSequence() >= knownUpTo,
                        "S counts message " + knownUpTo + " as known, but k was found pending only at " + look.pendingSequence());
                racing++;
            }
            looks++;
        }
        applier.join();
        assertTrue(racing > 0, "some of the " + looks + " looks raced the applier");
    }

    @Test
    void aLookAgesFromWhenItWasTaken() {
        LogKnowledge.Look look = new LogKnowledge.Look(0.5, 1_000, 0);
        assertEquals(0.5, look.staleSecondsAt(1_000), 1e-9);
        assertEquals(2.5, look.staleSecondsAt(3_000), 1e-9);
        assertEquals(0.5, look.staleSecondsAt(900), 1e-9, "never younger than when taken");
    }

    @Test
    void aBatchLookTakesOneSThenEachKeysPendingSequence() {
        LogKnowledge knowledge = new LogKnowledge(new PendingKeys(), new Staleness(0));
        knowledge.received(7, 1_000, List.of(write("a", 7)));
        LogKnowledge.Look[] looks = knowledge.look(List.of("a", "b"), 3_000, true, 0);
        assertEquals(7, looks[0].pendingSequence());
        assertEquals(0, looks[1].pendingSequence());
        assertEquals(2.0, looks[0].staleSeconds(), 1e-9);
        assertEquals(looks[0].staleSeconds(), looks[1].staleSeconds());
        assertEquals(5.0, knowledge.look(List.of("a"), 3_000, true, 5.0)[0].staleSeconds(), 1e-9, "the lag when it is larger");
    }

    @Test
    void keysStayPendingAcrossAnApplierRestartUntilTheStoreHasTheirMessage() {
        LogKnowledge knowledge = new LogKnowledge(new PendingKeys(), new Staleness(0));
        knowledge.received(7, 1_000, List.of(write("a", 7)));
        knowledge.received(9, 1_500, List.of(write("b", 9)));
        knowledge.restarted(7); // the chunk with 7 was committed, its outcome lost; 9 was not applied
        assertEquals(0, knowledge.look("a", 3_000, false, 0).pendingSequence(), "7 is in the store");
        assertEquals(9, knowledge.look("b", 3_000, false, 0).pendingSequence(),
                "9 is still known to be coming, though the log is out of reach to deliver it again");
    }

    @Test
    void afterAnApplierRestartSCountsOnlyWhatWasAppliedNotWhatWasReceived() {
        Staleness staleness = new Staleness(0);
        LogKnowledge knowledge = new LogKnowledge(new PendingKeys(), staleness);
        staleness.applied(1_000, 1_000, 1_005); // applied up to a commit at 1 s
        knowledge.received(9, 5_000, List.of(write("b", 9))); // received up to 5 s, not applied
        assertEquals(1.0, knowledge.look("a", 6_000, true, 0).staleSeconds(), 1e-9, "received counts while it is pending");
        knowledge.restarted(7);
        // The message committed at 5 s is delivered again later; until then the mirror knows the log
        // only up to its applied commit at 1 s. Counting the received one would make every key's S 4 s
        // too small, and its confidence too high.
        assertEquals(5.0, knowledge.look("a", 6_000, true, 0).staleSeconds(), 1e-9);
    }

    private static AppliedWrite write(String key, long sequence) {
        return new AppliedWrite(key, "1".getBytes(), sequence, Map.of(), sequence, sequence);
    }
}
