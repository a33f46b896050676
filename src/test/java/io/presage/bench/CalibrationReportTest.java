package io.presage.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

class CalibrationReportTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode table(String json) throws Exception {
        return JSON.readTree(json);
    }

    @Test
    void bucketsNameTheirDecileByTheLowerBound() {
        assertEquals(0, CalibrationReport.decile("0.0-0.1"));
        assertEquals(8, CalibrationReport.decile("0.8-0.9"));
        assertEquals(9, CalibrationReport.decile("0.9-1.0"));
        assertEquals(-1, CalibrationReport.decile("0.85-0.9"), "not a decile");
        assertEquals(-1, CalibrationReport.decile("1.0-1.1"));
        assertEquals(-1, CalibrationReport.decile("high"));
    }

    @Test
    void theDifferenceOfTwoTablesIsWhatTheReadsBetweenThemAdded() throws Exception {
        CalibrationReport before = CalibrationReport.of(table("""
                [{"bucket":"0.9-1.0","samples":10,"current":9,"currentRate":0.9,"meanConfidence":0.95}]"""));
        CalibrationReport after = CalibrationReport.of(table("""
                [{"bucket":"0.0-0.1","samples":5,"current":0,"currentRate":0.0,"meanConfidence":0.02},
                 {"bucket":"0.9-1.0","samples":30,"current":25,"currentRate":0.83,"meanConfidence":0.93}]"""));
        CalibrationReport d = after.minus(before);
        assertEquals(25, d.samples());
        String t = d.table("");
        // decile 9: 20 reads, 16 current, confidences 27.9 - 9.5 = 18.4 given (mean 0.92)
        assertTrue(t.contains("0.9 – 1.0          20          0.920           0.800"), t);
        assertTrue(t.contains("0.0 – 0.1           5          0.020           0.000"), t);
        assertTrue(t.indexOf("0.9 – 1.0") < t.indexOf("0.0 – 0.1"), "highest confidence first:\n" + t);
        // |18.4 - 16| + |0.1 - 0| over 25 reads
        assertEquals(2.5 / 25, d.calibrationError(), 1e-9);
    }

    @Test
    void mirrorsAddUpAndAPerfectlyCalibratedSumHasNoError() throws Exception {
        CalibrationReport a = CalibrationReport.of(table("""
                [{"bucket":"0.5-0.6","samples":4,"current":2,"meanConfidence":0.5}]"""));
        CalibrationReport b = CalibrationReport.of(table("""
                [{"bucket":"0.5-0.6","samples":6,"current":3,"meanConfidence":0.5}]"""));
        CalibrationReport sum = a.plus(b);
        assertEquals(10, sum.samples());
        assertEquals(0.0, sum.calibrationError(), 1e-12);
        assertEquals(1.0 / 14, a.plus(CalibrationReport.of(table("""
                [{"bucket":"0.5-0.6","samples":10,"current":4,"meanConfidence":0.5}]"""))).calibrationError(), 1e-12,
                "14 reads given 0.5 (7 expected current), 6 found current: a gap of 1 over 14 reads");
    }

    /** The error hardly sees the top decile; its own line shows stale reads against what was promised. */
    @Test
    void theTopDecilesStaleReadsAreSetAgainstWhatItsConfidenceAllowed() throws Exception {
        CalibrationReport r = CalibrationReport.of(table("""
                [{"bucket":"0.9-1.0","samples":10000,"current":9900,"meanConfidence":0.999}]"""));
        assertEquals(0.009, r.calibrationError(), 1e-9, "small");
        assertEquals("reads given 0.9 or more: 1.00 % stale, against 0.10 % their confidence allowed (10.0 ×)",
                r.topDecileStaleness());
        assertNull(CalibrationReport.of(table("""
                [{"bucket":"0.5-0.6","samples":4,"current":2,"meanConfidence":0.5}]""")).topDecileStaleness());
    }

    @Test
    void aTableWithoutMeanConfidenceIsTakenAtTheMiddleOfEachDecile() throws Exception {
        CalibrationReport r = CalibrationReport.of(table("""
                [{"bucket":"0.7-0.8","samples":2,"current":1}, {"bucket":"nonsense","samples":9}, {"bucket":"0.1-0.2","samples":0}]"""));
        assertEquals(2, r.samples());
        assertTrue(r.table("").contains("0.750"), r.table(""));
    }

    @Test
    void noReadsIsNoErrorNumberAndNoRows() throws Exception {
        CalibrationReport empty = CalibrationReport.of(table("[]"));
        assertEquals(0, empty.samples());
        assertTrue(Double.isNaN(empty.calibrationError()));
        assertEquals(1, empty.table("").lines().count(), "the header only");
        assertEquals(0, CalibrationReport.of(null).samples());
    }
}
