package io.presage.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ConfidenceModelTest {

    @Test
    void aKeyWithAPendingUpdateHasConfidenceZero() {
        assertEquals(0.0, Confidence.of(true, 0, 0));
    }

    @Test
    void confidenceIsTheChanceOfNoWriteDuringTheStalenessClampedToZeroOne() {
        assertEquals(1.0, Confidence.of(false, 0, 10));
        assertEquals(1.0, Confidence.of(false, 5, 0));
        assertEquals(Math.exp(-0.5), Confidence.of(false, 10, 0.05), 1e-12);
        assertTrue(Confidence.of(false, 10, 0.1) < Confidence.of(false, 10, 0.05), "staler is less sure");
        assertTrue(Confidence.of(false, 20, 0.05) < Confidence.of(false, 10, 0.05), "hotter is less sure");
        assertEquals(1.0, Confidence.of(false, -1, 1), "never above 1");
        assertEquals(0.0, Confidence.of(false, Double.POSITIVE_INFINITY, 0), "never NaN");
    }

    @Test
    void aKeyWrittenEveryPSecondsLearnsARateOfAboutOneOverP() {
        WriteRates r = new WriteRates(60_000, 100);
        long t = 1_000_000;
        for (int i = 0; i < 2000; i++) {
            r.written("hot", t);
            t += 200; // 5 writes per second
        }
        double rate = r.rate("hot", t);
        assertEquals(5.0 * (1 + WriteRates.PRIOR_WEIGHT), rate, 0.3, "its own 5/s plus the small prior (the average key: itself)");
        assertTrue(r.rate("hot", t + 600_000) < 0.05, "ten half-lives later the rate is gone: " + r.rate("hot", t + 600_000));
    }

    @Test
    void aKeysRateIsRightSoonAfterTheNodeStartsNotRampingUpOverTheHalfLife() {
        WriteRates r = new WriteRates(60_000, 100);
        long t = 1_000_000;
        for (int i = 0; i < 300; i++) {
            r.written("hot", t);
            t += 66; // 15 writes per second, for 20 s after the node's first observed write
        }
        double rate = r.rate("hot", t);
        // Without the start-up correction the decayed sum reads about 3/s here (1 − exp(−20 s / 87 s) of 15).
        assertEquals(15.0 * (1 + WriteRates.PRIOR_WEIGHT), rate, 1.5, "15/s plus the small prior: " + rate);
    }

    @Test
    void aKeyWhoseWritesBeginLongAfterTheNodesFirstIsRightSoonAfterNotRampingUp() {
        // A mirror that caught up with an hour-old log (a benchmark's keys), then a new workload starts.
        WriteRates r = new WriteRates(60_000, 100);
        long t = 1_000_000;
        for (int i = 0; i < 50; i++) {
            r.written("old" + i, t + i * 1_000L);
        }
        t += 3_600_000;
        for (int i = 0; i < 300; i++) {
            r.written("hot", t);
            t += 66; // 15 writes per second, for 20 s
        }
        double rate = r.rate("hot", t);
        // Counted from the node's first write an hour ago, the decayed sum read about 3/s here.
        assertEquals(15.0, rate, 1.5, "15/s (the prior of 50 quiet keys adds little): " + rate);
    }

    @Test
    void aKeySeenOnceErrsTowardsAHigherRateThenSettles() {
        WriteRates r = new WriteRates(60_000, 100);
        r.written("once", 1_000_000);
        double soon = r.rate("once", 1_001_000);
        assertTrue(soon > 0.5 && soon < 1.5, "one write in the last second reads as about 1/s: " + soon);
        assertTrue(r.rate("once", 1_600_000) < 0.01, "ten minutes later it is nearly quiet: " + r.rate("once", 1_600_000));
    }

    @Test
    void thePropagationEstimateIsTheOldestMessagesDelayNotTheNewests() {
        Staleness s = new Staleness();
        for (int i = 0; i < 60; i++) {
            long now = 100_000 + i * 1_000L;
            // A chunk of messages committed 50 ms … 2 ms before it became visible; then the log is drained.
            s.applied(now - 50, now - 2, now);
            s.drained(now + 1);
        }
        assertEquals(0.050, s.seconds(200_000, true), 0.005, "a reader could miss the oldest commit for 50 ms");
    }

    @Test
    void aKeyNeverWrittenGetsThePriorOfTheOverallRateSpreadOverTheKeys() {
        WriteRates r = new WriteRates(60_000, 100);
        long t = 1_000_000;
        for (int i = 0; i < 1000; i++) {
            r.written("k" + (i % 10), t);
            t += 100; // 10 writes per second over 10 keys
        }
        double unseen = r.rate("never", t);
        assertTrue(unseen > 0.5 && unseen < 1.5, "about 1 write/s per key: " + unseen);
        assertTrue(r.rate("k3", t) > unseen, "a written key adds its own rate");
    }

    /**
     * A mirror behind its log has seen none of the writes since its knowledge ends: the rate it knows is
     * the one at that horizon. Decayed to now instead, the confidence of a key written every second fell
     * to 0 at 5 minutes of lag and rose back to 0.999 at 20 minutes.
     */
    @Test
    void confidenceNeverRisesAsTheMirrorFallsFurtherBehind() {
        WriteRates r = new WriteRates(60_000, 100);
        long t = 1_000_000;
        for (int i = 0; i < 600; i++) {
            r.written("k", t);
            t += 1_000; // one write a second for ten minutes, then the mirror stops receiving
        }
        long last = t - 1_000;
        double previous = 1.0;
        for (int lagSeconds = 1; lagSeconds <= 3_600; lagSeconds += 7) {
            long now = last + lagSeconds * 1_000L;
            double c = Confidence.of(false, r.rateKnown("k", now, lagSeconds), lagSeconds);
            assertTrue(c <= previous + 1e-12, "at " + lagSeconds + " s of lag: " + c + " > " + previous);
            previous = c;
        }
        long twentyMinutes = last + 1_200_000;
        assertTrue(Confidence.of(false, r.rateKnown("k", twentyMinutes, 1_200), 1_200) < 0.01);
        assertEquals(r.rate("k", last + 5), r.rateKnown("k", last + 10, 0.005), 1e-12, "caught up: the rate now");
    }

    @Test
    void aNodeThatHasSeenNoWriteDoesNotTakeEveryKeyForQuiet() {
        WriteRates r = new WriteRates(60_000, 100);
        assertTrue(r.rate("any", 1_000) > 0, "a prior, not zero");
        assertTrue(Confidence.of(false, r.rate("any", 1_000), 3_600) < 0.01, "an hour blind: no confidence");
        assertTrue(Confidence.of(false, r.rate("any", 1_000), 0.005) > 0.999, "caught up: confident");
    }

    @Test
    void aMirrorBlindAfterAQuietSpellLosesConfidenceAsItStaysBlind() {
        for (int keys : new int[] {1, 10_000}) { // the prior once spread over the keys held for one key only
            WriteRates r = new WriteRates(60_000, 20_000); // τ ≈ 87 s
            for (int i = 0; i < keys; i++) {
                r.written(i == 0 ? "k" : "other-" + i, 1_000_000);
            }
            long quiet = 1_000_000 + 2 * 3_600_000L; // two hours without a write, then blind
            double previous = 1.0;
            for (int blindSeconds : new int[] {60, 600, 3_600, 36_000}) {
                long now = quiet + blindSeconds * 1_000L;
                double written = Confidence.of(false, r.rateKnown("k", now, blindSeconds), blindSeconds);
                double never = Confidence.of(false, r.rateKnown("never-written", now, blindSeconds), blindSeconds);
                assertTrue(written < previous, keys + " keys, " + blindSeconds + " s blind: " + written + " not below " + previous);
                assertTrue(never <= written, keys + " keys: a key with no writes of its own is no more certain: " + never);
                previous = written;
            }
            assertTrue(Confidence.of(false, r.rateKnown("k", quiet + 3_600_000, 3_600), 3_600) < 0.05, keys + " keys, an hour blind");
            assertTrue(Confidence.of(false, r.rateKnown("never-written", quiet + 3_600_000, 3_600), 3_600) < 0.05,
                    keys + " keys, an hour blind, a key never written");
            assertTrue(Confidence.of(false, r.rateKnown("k", quiet + 5, 0.005), 0.005) > 0.999, keys + " keys, caught up: confident");
        }
    }

    @Test
    void aMirrorStartedWithoutItsLogGrowsStaleFromItsStart() {
        Staleness s = new Staleness(1_000);
        assertEquals(3_600.005, s.seconds(3_601_000, false), 1e-6, "blind since it started an hour ago");
        assertEquals(0.005, s.seconds(3_601_000, true), 1e-9, "reachable: catching up, the lag says how far");
    }

    @Test
    void perKeyRatesAreBounded() {
        WriteRates r = new WriteRates(60_000, 64);
        for (int i = 0; i < 10_000; i++) {
            r.written("k" + i, 1000 + i);
        }
        assertTrue(r.trackedKeys() <= 64);
    }

    @Test
    void stalenessIsThePropagationDelayWhenDrainedAndGrowsWhileTheLogIsUnreachable() {
        Staleness s = new Staleness();
        s.applied(1_000, 1_000, 9_000);    // out of a backlog at start: queueing, not propagation
        s.drained(9_990);
        s.applied(10_000, 10_000, 10_020);  // arrived while waiting: commit → visible in 20 ms
        s.drained(10_030);
        double caughtUp = s.seconds(50_000, true);
        assertTrue(caughtUp < 0.03, "drained and connected: only the propagation estimate " + caughtUp);
        assertEquals(caughtUp, s.seconds(90_000, true), 1e-12, "it does not grow with time while the follower waits");
        assertTrue(s.seconds(15_030, false) >= 5.0, "the log unreachable for 5 s: 5 s stale");
        s.applied(20_000, 20_000, 20_010);
        assertTrue(s.seconds(23_000, true) >= 3.0, "in a backlog: age of the last applied commit");
    }

    @Test
    void whileAPageIsBeingAppliedWhatWasCommittedAfterItsLastMessageIsUnknown() {
        Staleness s = new Staleness();
        s.drained(9_990);
        s.received(10_000);
        s.applied(10_000, 10_000, 10_020); // arrived while parked: commit → visible in 20 ms
        s.drained(10_021);
        double parked = s.seconds(11_000, true);
        assertTrue(parked < 0.03, "parked: the propagation estimate only " + parked);
        s.received(11_000); // a page arrives; the follower is busy with it, not parked
        assertEquals(0.4, s.seconds(11_400, true), 1e-9, "unknown since the page's last commit, 400 ms ago");
        s.applied(11_000, 11_000, 11_410);
        s.drained(11_411);
        assertEquals(parked, s.seconds(12_000, true), 0.05, "parked again: propagation only");
    }

    @Test
    void aMessageReceivedButNotAppliedIsKnownUntilTheApplierRestarts() {
        Staleness s = new Staleness();
        s.applied(10_000, 10_000, 10_010); // out of a backlog: not drained
        assertEquals(5.0, s.seconds(15_000, true), 1e-9, "only what was applied, 5 s ago, is known");
        s.received(14_000);
        assertEquals(1.0, s.seconds(15_000, true), 1e-9,
                "a message committed 1 s ago is received and its keys pending: only what came after it is unknown");
        s.received(12_000);
        assertEquals(1.0, s.seconds(15_000, true), 1e-9, "an older message does not take knowledge back");
        s.restarted();
        assertEquals(5.0, s.seconds(15_000, true), 1e-9, "a restarted applier forgot what it had not applied");
    }

    /**
     * A full rate table evicts its least written keys. It evicted in hash order: a key written 100 times
     * a second, in the region that went each time, fell back to the average rate and then read as a few
     * writes a second, confidence near 1 for a copy almost surely stale.
     */
    @Test
    void aHotKeyKeepsItsRateWhileNewKeysKeepFillingTheTable() {
        WriteRates r = new WriteRates(60_000, 1024);
        long t = 1_000_000;
        for (int i = 0; i < 6_000; i++) { // 60 s of 100 writes a second
            r.written("hot", t);
            t += 10;
        }
        double lowest = Double.MAX_VALUE;
        for (int i = 0; i < 6_000; i++) { // and another 60 s with a new key every 10 ms beside it
            r.written("new-" + i, t);
            r.written("hot", t);
            t += 10;
            lowest = Math.min(lowest, r.rate("hot", t));
            assertTrue(r.trackedKeys() <= 1024, "bounded: " + r.trackedKeys());
        }
        assertTrue(lowest > 50, "the hot key's rate never fell to the average's: lowest " + lowest);
    }
}
