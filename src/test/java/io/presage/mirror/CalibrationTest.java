package io.presage.mirror;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.presage.apply.ApplyHook.AppliedWrite;

class CalibrationTest {
    private final List<String> resolved = new ArrayList<>();
    private final Calibration cal = new Calibration(1.0, 100, (s, current, decile) ->
            resolved.add(s.key() + "@" + s.version() + "=" + current + "/" + decile));

    private static AppliedWrite write(String key, long version, long commitMillis) {
        return new AppliedWrite(key, null, version, Map.of(), 1, commitMillis);
    }

    @Test
    void aReadIsNotCurrentWhenTheLogHoldsANewerWriteCommittedBeforeIt() {
        cal.read("k", 5, 0.95, 10_000);
        cal.applied(List.of(write("k", 9, 9_990)), 9_990);
        assertEquals(List.of("k@5=false/9"), resolved);
    }

    @Test
    void aReadIsCurrentOnceTheLogIsAppliedPastItPlusTheMarginWithoutANewerWrite() {
        cal.read("k", 5, 0.42, 10_000);
        cal.applied(List.of(write("k", 9, 10_050)), 10_050); // committed after the read: not a staleness
        assertEquals(List.of(), resolved, "within the margin: not decided yet");
        cal.applied(List.of(write("other", 10, 10_100)), 10_100);
        assertEquals(List.of("k@5=true/4"), resolved);
    }

    /**
     * A read that missed the cache reaches the calibration after its store round trip; a write applied
     * meanwhile, committed before the read, proves it stale all the same.
     */
    @Test
    void aSampleArrivingAfterTheWriteThatMadeItStaleIsNotCurrent() {
        cal.applied(List.of(write("k", 9, 9_990)), 9_990);
        cal.read("k", 5, 0.95, 10_000);
        cal.drained(20_000);
        assertEquals(List.of("k@5=false/9"), resolved);
    }

    @Test
    void anEarlierWriteOfTheSameVersionOrOneCommittedAfterTheReadDoesNotMakeItStale() {
        cal.applied(List.of(write("k", 5, 9_000), write("k", 9, 10_050)), 10_050);
        cal.read("k", 5, 0.95, 10_000);
        cal.drained(20_000);
        assertEquals(List.of("k@5=true/9"), resolved);
    }

    @Test
    void theWritesKeptForLateSamplesAreBoundedAndNotKeptWithoutSampling() {
        List<AppliedWrite> chunk = new ArrayList<>();
        for (int i = 0; i < 1_000; i++) {
            chunk.add(write("hot", i, i)); // one key written over and over: a mirror catching up
        }
        for (int c = 0; c < 150; c++) {
            cal.applied(chunk, 1_000);
        }
        assertTrue(cal.recentWrites() <= Calibration.MAX_RECENT, "kept " + cal.recentWrites());
        assertTrue(cal.recentWrites() > 0, "the bound counts what is kept: nothing counted, nothing ever dropped");
        Calibration off = new Calibration(0, 100, (s, current, decile) -> { });
        off.applied(chunk, 1_000);
        assertEquals(0, off.recentWrites(), "sampling off: nothing kept");
    }

    @Test
    void aDrainedLogDecidesOpenSamplesAsCurrent() {
        cal.read("k", 5, 1.0, 10_000);
        cal.drained(10_150);
        assertEquals(List.of(), resolved);
        cal.drained(10_250);
        assertEquals(List.of("k@5=true/9"), resolved);
        assertEquals(0, cal.open());
    }

    @Test
    void theTableCountsSamplesCurrentOnesAndTheMeanConfidenceGivenPerDecile() {
        cal.read("a", 1, 0.91, 1_000);
        cal.read("b", 1, 0.93, 1_000);
        cal.read("c", 1, 0.05, 1_000);
        cal.applied(List.of(write("b", 2, 900), write("c", 2, 950)), 950);
        cal.drained(2_000);
        List<Map<String, Object>> t = cal.table();
        assertEquals(2, t.size());
        assertEquals("0.0-0.1", t.get(0).get("bucket"));
        assertEquals(0L, t.get(0).get("current"));
        assertEquals("0.9-1.0", t.get(1).get("bucket"));
        assertEquals(2L, t.get(1).get("samples"));
        assertEquals(1L, t.get(1).get("current"));
        assertEquals(0.5, t.get(1).get("currentRate"));
        assertEquals(0.92, (double) t.get(1).get("meanConfidence"), 1e-9, "the mean of 0.91 and 0.93");
        assertEquals(0.05, (double) t.get(0).get("meanConfidence"), 1e-9);
        // decile 9: 1.84 given against 1 current; decile 0: 0.05 given against 0; over 3 reads
        assertEquals((0.84 + 0.05) / 3, cal.error(), 1e-9);
    }

    @Test
    void theErrorIsUnknownBeforeAnySampleIsDecided() {
        assertTrue(Double.isNaN(cal.error()));
        cal.read("k", 1, 0.5, 1_000);
        assertTrue(Double.isNaN(cal.error()), "taken, not decided");
    }

    @Test
    void withAZeroRateNothingIsSampled() {
        Calibration none = new Calibration(0, 100, (s, c, d) -> resolved.add("x"));
        none.read("k", 1, 0.5, 1);
        none.drained(10_000);
        assertEquals(List.of(), resolved);
    }

    @Test
    void aSampleCarriesTheModelsInputsToItsResolution() {
        List<Calibration.Sample> seen = new ArrayList<>();
        Calibration c = new Calibration(1.0, 100, (s, current, decile) -> seen.add(s));
        assertEquals(true, c.sampled(), "rate 1 samples every read");
        c.add(new Calibration.Sample("k", 5, 0.9, 10_000, 2.5, 0.04));
        c.drained(10_200);
        assertEquals(1, seen.size());
        assertEquals(2.5, seen.get(0).writesPerSecond());
        assertEquals(0.04, seen.get(0).staleSeconds());
    }
}
