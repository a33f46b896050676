package io.presage.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;

class DemoTest {

    @Test
    void optionsDefaultToTheLocalClusterAndMirrorsRepeat() {
        Demo.Options d = Demo.parse(new String[0]);
        assertEquals(URI.create("http://127.0.0.1:8080"), d.url());
        assertTrue(d.mirrors().isEmpty(), "none given: the demo looks for them beside the coordinator");
        assertEquals(25, d.seconds());
        Demo.Options o = Demo.parse(new String[] {"--seconds", "8", "--mirror", "http://127.0.0.1:8081", "--mirror",
            "http://127.0.0.1:8082", "--clients", "4"});
        assertEquals(List.of(URI.create("http://127.0.0.1:8081"), URI.create("http://127.0.0.1:8082")), o.mirrors());
        assertEquals(8, o.seconds());
        assertEquals(4, o.clients());
        assertEquals("--seconds must be at least 5, not 2",
                assertThrows(IllegalArgumentException.class, () -> Demo.parse(new String[] {"--seconds", "2"})).getMessage());
        assertEquals("unknown option --keys",
                assertThrows(IllegalArgumentException.class, () -> Demo.parse(new String[] {"--keys", "2"})).getMessage());
    }

    @Test
    void confidenceBucketsAreHalfOpenAndTheTopOneHoldsCertainty() {
        assertEquals(0, Demo.Confidence.bucket(0.0));
        assertEquals(0, Demo.Confidence.bucket(0.49));
        assertEquals(1, Demo.Confidence.bucket(0.5));
        assertEquals(2, Demo.Confidence.bucket(0.8));
        assertEquals(3, Demo.Confidence.bucket(0.95));
        assertEquals(4, Demo.Confidence.bucket(0.99));
        assertEquals(4, Demo.Confidence.bucket(1.0));
    }

    @Test
    void confidenceTableShowsShareAndHowOftenACheckedReadWasCurrent() {
        Demo.Confidence c = new Demo.Confidence();
        for (int i = 0; i < 90; i++) {
            c.read(1.0);
        }
        for (int i = 0; i < 10; i++) {
            c.read(0.6);
        }
        c.checked(1.0, true);
        c.checked(1.0, true);
        c.checked(1.0, false);
        c.checked(1.0, true);
        String t = c.table();
        String[] lines = t.split("\n");
        assertEquals(3, lines.length, t);
        assertTrue(lines[1].contains("≥ 0.99") && lines[1].contains("90") && lines[1].contains("90.0 %")
                && lines[1].contains("75.0 % of 4"), lines[1]);
        assertTrue(lines[2].contains("0.50 – 0.80") && lines[2].contains("10.0 %") && lines[2].contains("not checked"), lines[2]);
    }

    @Test
    void certificationCountsAreDeltasAndMissingOnesSayUnknown() throws Exception {
        ObjectMapper m = new ObjectMapper();
        var before = m.readTree("{\"committed\":100,\"adjusted\":7}");
        var after = m.readTree("{\"committed\":350,\"adjusted\":19}");
        assertEquals(250, Demo.delta(before, after, "committed"));
        assertEquals(12, Demo.delta(before, after, "adjusted"));
        assertEquals(-1, Demo.delta(before, after, "aborted"));
    }
}
