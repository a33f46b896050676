package io.presage.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.Test;

class CommitBenchTest {

    private static CommitBench.Options parse(String... args) {
        return CommitBench.parse(args, Map.of());
    }

    @Test
    void defaultsPointAtTheLocalClusterOfPresageUp() {
        CommitBench.Options o = parse();
        assertEquals(URI.create("http://127.0.0.1:8080"), o.url());
        assertEquals("nats://127.0.0.1:14222", o.nats());
        assertEquals(10, o.seconds());
        assertEquals(32, o.clients());
        assertEquals(100_000, o.keys());
        assertEquals(CommitBench.AUTO_WARMUP, o.warmup(), "warm up until the coordinator is warm");
        assertEquals(1024, o.jsWindow());
        assertEquals(CommitBench.Reads.GET, o.reads());
        assertTrue(o.mirrors().isEmpty());
        assertTrue(o.findMirrors(), "without --mirror, the mirrors running beside the coordinator are looked for");
        assertEquals(0, o.rate(), "closed loop, as fast as the cluster answers, unless --rate is given");
    }

    @Test
    void rateSetsAnOpenLoopTargetAndMustBePositive() {
        assertEquals(700, parse("--rate", "700").rate());
        assertThrows(IllegalArgumentException.class, () -> parse("--rate", "0"));
        assertThrows(IllegalArgumentException.class, () -> parse("--rate", "fast"));
    }

    @Test
    void givenMirrorsOrNoMirrorsTurnTheSearchOff() {
        assertFalse(parse("--mirror", "http://127.0.0.1:8081").findMirrors());
        CommitBench.Options none = parse("--no-mirrors", "--seconds", "2");
        assertFalse(none.findMirrors());
        assertTrue(none.mirrors().isEmpty());
        assertEquals(2, none.seconds());
        CommitBench.Options found = parse().withMirrors(List.of(URI.create("http://127.0.0.1:8081")));
        assertEquals(List.of(URI.create("http://127.0.0.1:8081")), found.mirrors());
        assertFalse(found.findMirrors());
    }

    @Test
    void aMirrorIsRecognisedByItsStatusAndTheCoordinatorItFollows() {
        URI coordinator = URI.create("http://127.0.0.1:8080");
        assertTrue(MirrorDiscovery.isMirrorOf("{\"role\":\"mirror\",\"nodeId\":\"mirror1\",\"appliedSequence\":3,"
                + "\"coordinator\":{\"url\":\"http://127.0.0.1:8080\",\"reachable\":true}}", coordinator));
        assertTrue(MirrorDiscovery.isMirrorOf("{\"role\":\"mirror\",\"coordinator\":{\"url\":\"http://localhost:8080\"}}",
                coordinator), "localhost and 127.0.0.1 are the same loopback");
        assertTrue(MirrorDiscovery.isMirrorOf("{\"role\":\"mirror\"}", coordinator), "a mirror that does not say whom it follows");
        assertFalse(MirrorDiscovery.isMirrorOf("{\"role\":\"mirror\",\"coordinator\":{\"url\":\"http://127.0.0.1:9090\"}}",
                coordinator), "the mirror of another cluster");
        assertFalse(MirrorDiscovery.isMirrorOf("{\"role\":\"coordinator\"}", coordinator));
        assertFalse(MirrorDiscovery.isMirrorOf("<html>", coordinator));
    }

    @Test
    void natsPortComesFromTheLauncherEnvironmentUnlessGiven() {
        assertEquals("nats://127.0.0.1:24222", CommitBench.parse(new String[0], Map.of("PRESAGE_NATS_PORT", "24222")).nats());
        assertEquals("nats://127.0.0.1:4222",
                CommitBench.parse(new String[] {"--nats", "nats://127.0.0.1:4222"}, Map.of("PRESAGE_NATS_PORT", "24222")).nats());
    }

    @Test
    void optionsAreParsedAndMirrorsRepeat() {
        CommitBench.Options o = parse("--seconds", "3", "--clients", "8", "--keys", "1_000", "--url", "http://127.0.0.1:9090/",
                "--mirror", "http://127.0.0.1:8081", "--mirror", "http://127.0.0.1:8082", "--warmup", "0", "--io-threads", "2", "--reads", "batch");
        assertEquals(3, o.seconds());
        assertEquals(8, o.clients());
        assertEquals(1000, o.keys());
        assertEquals(0, o.warmup());
        assertEquals(2, o.ioThreads());
        assertEquals(CommitBench.Reads.BATCH, o.reads());
        assertEquals(URI.create("http://127.0.0.1:9090"), o.url());
        assertEquals(9090, BenchHttp.port(o.url()));
        assertEquals(List.of(URI.create("http://127.0.0.1:8081"), URI.create("http://127.0.0.1:8082")), o.mirrors());
    }

    @Test
    void badOptionsSayWhatIsWrong() {
        assertEquals("unknown option --bogus", assertThrows(IllegalArgumentException.class, () -> parse("--bogus", "1")).getMessage());
        assertEquals("missing value after --seconds", assertThrows(IllegalArgumentException.class, () -> parse("--seconds")).getMessage());
        assertEquals("not a whole number for --clients: many",
                assertThrows(IllegalArgumentException.class, () -> parse("--clients", "many")).getMessage());
        assertEquals("--seconds must be at least 1, not 0",
                assertThrows(IllegalArgumentException.class, () -> parse("--seconds", "0")).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("--keys", "1")).getMessage().contains("at least 2"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("--url", "https://x:1")).getMessage().contains("http://"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("--url", "http://h:1/v1")).getMessage().contains("no path"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> parse("--nats", "127.0.0.1:4222")).getMessage().contains("nats://"));
        assertEquals("--reads must be get, batch, none or procedure, not 'some'",
                assertThrows(IllegalArgumentException.class, () -> parse("--reads", "some")).getMessage());
        assertThrows(BenchArgs.HelpRequested.class, () -> parse("--help"));
    }

    @Test
    void percentilesAreNearestRank() {
        long[] hundred = new long[100];
        for (int i = 0; i < 100; i++) {
            hundred[i] = i + 1; // 1..100
        }
        assertEquals(50, LatencyLog.percentile(hundred, 0.50));
        assertEquals(99, LatencyLog.percentile(hundred, 0.99));
        assertEquals(100, LatencyLog.percentile(hundred, 1.0));
        assertEquals(1, LatencyLog.percentile(hundred, 0.0));
        assertEquals(7, LatencyLog.percentile(new long[] {7}, 0.99));
        assertEquals(0, LatencyLog.percentile(new long[0], 0.5));
        assertTrue(Double.isNaN(LatencyLog.percentileMillis(new long[0], 0.99)), "nothing measured is not 0 ms");
        long[] ten = {1, 2, 3, 4, 5, 6, 7, 8, 9, 1000};
        assertEquals(1000, LatencyLog.percentile(ten, 0.99), "one slow request in ten is the p99");
        assertEquals(5, LatencyLog.percentile(ten, 0.5));
        assertEquals(1.5, LatencyLog.percentileMillis(new long[] {1_500_000}, 0.5));
        assertThrows(IllegalArgumentException.class, () -> LatencyLog.percentile(ten, 1.5));
    }

    @Test
    void logsOfSeveralClientsMergeSorted() {
        LatencyLog a = new LatencyLog();
        LatencyLog b = new LatencyLog();
        for (int i = 0; i < 3000; i++) {
            a.add(2 * i);
            b.add(2 * i + 1);
        }
        long[] all = LatencyLog.sortedUnion(List.of(a, b));
        assertEquals(6000, all.length);
        for (int i = 0; i < all.length; i++) {
            assertEquals(i, all[i]);
        }
    }

    @Test
    void readsTakeVersionAndNumberFromFoundAndNotFoundAnswers() throws Exception {
        CommitWorkload.Item found = CommitWorkload.Item.parse(("{\"key\":\"bench-k1\",\"value\":41,\"version\":123456,"
                + "\"vclock\":{\"coordinator\":123456},\"confidence\":1.0,\"token\":\"abc\"}").getBytes(StandardCharsets.UTF_8));
        assertEquals(new CommitWorkload.Item(123456, 41), found);
        CommitWorkload.Item missing = CommitWorkload.Item.parse(("{\"error\":\"NOT_FOUND\",\"message\":\"no such key\",\"key\":\"bench-k2\","
                + "\"version\":0,\"vclock\":{},\"confidence\":1.0,\"found\":false,\"token\":\"t\"}").getBytes(StandardCharsets.UTF_8));
        assertEquals(new CommitWorkload.Item(0, 0), missing);
        CommitWorkload.Item objectValue = CommitWorkload.Item.parse(
                "{\"value\":{\"version\":9},\"version\":5}".getBytes(StandardCharsets.UTF_8));
        assertEquals(new CommitWorkload.Item(5, 0), objectValue, "only the top-level version counts");
        assertThrows(java.io.IOException.class, () -> CommitWorkload.Item.parse("{\"error\":\"X\"}".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void transactionBodyIsTheReadModifyWriteTheApiExpects() throws Exception {
        String body = CommitWorkload.transactionBody("bench-k1", new CommitWorkload.Item(7, 41), "bench-k2", new CommitWorkload.Item(0, 0), true,
                null);
        JsonNode t = new ObjectMapper().readTree(body);
        assertEquals("bench-k1", t.get("reads").get(0).get("key").asText());
        assertEquals(7, t.get("reads").get(0).get("version").asLong());
        assertEquals(0, t.get("reads").get(1).get("version").asLong());
        assertEquals(42, t.get("writes").get(0).get("value").asLong());
        assertEquals(1, t.get("writes").get(1).get("value").asLong());
        assertEquals("bench-k2", t.get("writes").get(1).get("key").asText());
        JsonNode blind = new ObjectMapper().readTree(CommitWorkload.transactionBody("bench-k1", new CommitWorkload.Item(0, 5),
                "bench-k2", new CommitWorkload.Item(0, 6), false, null));
        assertEquals(0, blind.get("reads").size());
        assertEquals(6, blind.get("writes").get(0).get("value").asLong());
        assertNull(t.get("id"), "no id unless --ids");
    }

    @Test
    void withIdsEveryTransactionCarriesAnIdOfItsOwnThatNoEarlierRunUsed() throws Exception {
        assertFalse(parse().ids());
        assertTrue(parse("--ids", "--seconds", "2").ids());
        JsonNode t = new ObjectMapper().readTree(CommitWorkload.transactionBody("bench-k1", new CommitWorkload.Item(7, 41),
                "bench-k2", new CommitWorkload.Item(0, 0), true, "bench-x-1"));
        assertEquals("bench-x-1", t.get("id").asText());
        assertEquals(2, t.get("reads").size());
        // The run id comes from the clock and a random number: a second process gets another one.
        assertTrue(CommitBench.RUN_ID.matches("[0-9a-z]{8,}"), CommitBench.RUN_ID);
    }

    @Test
    void theProcedureWorkloadIsOneRequestPerTransactionOnAccountsPreloadedWithABalance() throws Exception {
        assertEquals(CommitBench.Reads.PROCEDURE, parse("--reads", "procedure").reads());
        assertEquals(1, CommitBench.Reads.PROCEDURE.requests);
        JsonNode t = new ObjectMapper().readTree(CommitWorkload.accountsBody(3, 6));
        assertEquals(0, t.get("reads").size());
        assertEquals(3, t.get("writes").size());
        assertEquals("bench-k3", t.get("writes").get(0).get("key").asText());
        assertEquals("bench-k5", t.get("writes").get(2).get("key").asText());
        assertEquals(CommitWorkload.PRELOAD_BALANCE, t.get("writes").get(1).get("value").asLong());
    }

    @Test
    void batchReadsGiveOneItemPerKeyInOrder() throws Exception {
        List<CommitWorkload.Item> items = CommitWorkload.Item.parseBatch(("{\"items\":[{\"key\":\"bench-k1\",\"value\":3,"
                + "\"version\":17,\"vclock\":{\"c\":17},\"confidence\":1.0},{\"key\":\"bench-k2\",\"version\":0,"
                + "\"vclock\":{},\"confidence\":1.0,\"found\":false}],\"sequence\":12,\"token\":\"t\"}")
                .getBytes(StandardCharsets.UTF_8));
        assertEquals(List.of(new CommitWorkload.Item(17, 3), new CommitWorkload.Item(0, 0)), items);
    }

    @Test
    void commitTimestampIsReadFromTheAnswer() {
        byte[] ok = "{\"status\":\"COMMITTED\",\"timestamp\":1234567,\"adjusted\":false,\"token\":\"x\"}".getBytes(StandardCharsets.UTF_8);
        assertEquals(1234567, JsonFields.topLevelLong(ok, "timestamp").getAsLong());
        assertFalse(JsonFields.topLevelLong(ok, "version").isPresent());
        assertFalse(JsonFields.topLevelLong("not json".getBytes(StandardCharsets.UTF_8), "timestamp").isPresent());
    }

    @Test
    void theCommitsTokenIsReadFromTheAnswersBytes() {
        byte[] ok = "{\"status\":\"COMMITTED\",\"timestamp\":1234567,\"token\":\"p1.1rv\"}".getBytes(StandardCharsets.UTF_8);
        assertEquals("p1.1rv", JsonFields.topLevelString(ok, "token"));
        assertEquals(null, JsonFields.topLevelString(ok, "timestamp"), "a number is not a string");
        assertEquals(null, JsonFields.topLevelString("[1]".getBytes(StandardCharsets.UTF_8), "token"));
        assertEquals(null, JsonFields.topLevelString("not json".getBytes(StandardCharsets.UTF_8), "token"));
    }

    private static CommitReport sampleReport() {
        CommitReport r = new CommitReport();
        r.committed = 50_000;
        r.aborted = 50;
        r.commitSeconds = 10;
        r.commitTps = 5000.4;
        r.commitP50 = 3.2;
        r.commitP99 = 12.3456;
        r.pingRps = 20000;
        r.syncTps = 1500;
        r.asyncTps = 90000;
        r.heapAfterGcMb = 85.25;
        return r;
    }

    @Test
    void resultLineIsOneJsonObjectWithTheAgreedFields() throws Exception {
        CommitBench.Options o = parse("--seconds", "10");
        String line = ResultLine.of(CommitReport.resultFields(o, sampleReport()));
        assertTrue(line.startsWith("RESULT {"), line);
        assertFalse(line.contains("\n"));
        JsonNode j = new ObjectMapper().readTree(line.substring("RESULT ".length()));
        for (String f : List.of("commit_tps", "commit_p50_ms", "commit_p99_ms", "http_ceiling_rps",
                "jetstream_sync_publish_tps", "jetstream_async_publish_tps", "coordinator_heap_after_gc_mb")) {
            assertTrue(j.has(f), "missing " + f + " in " + line);
        }
        assertEquals("commit", j.get("bench").asText());
        assertEquals("get", j.get("reads").asText());
        assertEquals(5000, j.get("commit_tps").asLong());
        assertTrue(j.get("commit_tps").isIntegralNumber());
        assertEquals(12.346, j.get("commit_p99_ms").asDouble(), 1e-9);
        assertEquals(20000, j.get("http_ceiling_rps").asLong());
        assertEquals(1500, j.get("jetstream_sync_publish_tps").asLong());
        assertEquals(90000, j.get("jetstream_async_publish_tps").asLong());
        assertEquals(85.25, j.get("coordinator_heap_after_gc_mb").asDouble(), 1e-9);
        assertEquals(0.25, j.get("commit_vs_http_ceiling").asDouble(), 1e-3);
        assertTrue(j.get("group_commit_mean_txns").isNull(), "unmeasured values are null, not NaN");
        assertFalse(j.has("lag_p50_ms"), "no lag without mirrors");
        assertFalse(j.has("lag_p99_ms"));
    }

    @Test
    void aCoordinatorThatHasCommittedTooLittleIsFlaggedAsStillWarmingUp() {
        String note = CommitBench.coldCoordinatorNote(23_400);
        assertTrue(note != null && note.contains("committed only 23,400") && note.contains("--warmup"), String.valueOf(note));
        assertEquals(null, CommitBench.coldCoordinatorNote(CommitBench.WARM_COMMITS));
        assertEquals(null, CommitBench.coldCoordinatorNote(10_000_000));
        assertEquals(null, CommitBench.coldCoordinatorNote(Double.NaN), "no metric, no note");
    }

    @Test
    void autoWarmUpRunsUntilThisWorkloadHasCommittedEnoughWithinItsBounds() {
        long warm = CommitBench.WARM_COMMITS;
        int min = CommitBench.WARMUP_MIN_SECONDS;
        int max = CommitBench.WARMUP_MAX_SECONDS;
        assertFalse(CommitBench.warmEnough(0, 0), "nothing is known before the first step");
        assertFalse(CommitBench.warmEnough(10 * warm, min - 1), "even a fast warm-up gets the first step");
        assertTrue(CommitBench.warmEnough(warm, min));
        assertFalse(CommitBench.warmEnough(warm - 1, min));
        assertFalse(CommitBench.warmEnough(warm - 1, max - 1));
        assertTrue(CommitBench.warmEnough(warm - 1, max), "a slow coordinator does not hold the bench forever");
        assertTrue(CommitBench.warmEnough(0, max));
    }

    @Test
    void theCoordinatorsCommitCountIsReadFromItsCommittedSeriesOnly() {
        PrometheusText m = PrometheusText.parse("""
                # TYPE presage_commits_total counter
                presage_commits_total{outcome="aborted",reason="WRITE_AFTER_READ"} 472.0
                presage_commits_total{outcome="committed",reason=""} 734759.0
                presage_commits_total{outcome="unavailable",reason="LOG"} 3.0
                """);
        assertEquals(734_759, CommitBench.committedSinceStart(m));
        assertTrue(Double.isNaN(CommitBench.committedSinceStart(PrometheusText.parse("process_uptime_seconds 3.0\n"))));
        assertTrue(Double.isNaN(CommitBench.committedSinceStart(null)), "no metrics page");
    }

    @Test
    void warmupTakesAutoOrSeconds() {
        assertEquals(CommitBench.AUTO_WARMUP, parse("--warmup", "auto").warmup());
        assertEquals(45, parse("--warmup", "45").warmup());
        assertEquals(0, parse("--warmup", "0").warmup());
        for (String bad : List.of("soon", "-1")) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> parse("--warmup", bad));
            assertTrue(e.getMessage().contains("--warmup must be auto or a whole number"), e.getMessage());
        }
    }

    @Test
    void resultLineCarriesTheCoordinatorsUptimeCommitsAndTheWarmUp() throws Exception {
        CommitReport r = sampleReport();
        r.coordinatorUptimeS = 42.5;
        r.coordinatorCommittedBefore = 151_234;
        r.warmupSeconds = 38;
        r.warmupCommitted = 152_001;
        JsonNode j = new ObjectMapper().readTree(ResultLine.of(CommitReport.resultFields(parse(), r)).substring("RESULT ".length()));
        assertEquals(42.5, j.get("coordinator_uptime_s").asDouble(), 1e-9);
        assertEquals(151_234, j.get("coordinator_committed_before").asLong());
        assertEquals(38, j.get("warmup_s").asInt());
        assertEquals(152_001, j.get("warmup_committed").asLong());
    }

    @Test
    void resultLineCarriesLagWhenMirrorsRun() throws Exception {
        CommitBench.Options o = parse("--mirror", "http://127.0.0.1:8081");
        CommitReport r = sampleReport();
        r.mirrors = true;
        r.lagP50 = 4.5;
        r.lagP99 = 20.125;
        r.lagSamples = 900;
        JsonNode j = new ObjectMapper().readTree(ResultLine.of(CommitReport.resultFields(o, r)).substring(7));
        assertEquals(4.5, j.get("lag_p50_ms").asDouble(), 1e-9);
        assertEquals(20.125, j.get("lag_p99_ms").asDouble(), 1e-9);
        assertEquals(900, j.get("lag_samples").asLong());
    }

    @Test
    void decimalsAreShortAndJsonSafe() {
        assertEquals("12.346", ResultLine.decimal(12.3456));
        assertEquals("3", ResultLine.decimal(3.0));
        assertEquals("0.5", ResultLine.decimal(0.5));
        assertEquals("0", ResultLine.decimal(-0.0001));
        assertEquals("12345678.9", ResultLine.decimal(12345678.9));
    }

    @Test
    void prometheusTextIsSummedBySeries() {
        PrometheusText m = PrometheusText.parse("""
                # HELP jvm_memory_used_bytes The amount of used memory
                # TYPE jvm_memory_used_bytes gauge
                jvm_memory_used_bytes{area="heap",id="G1 Survivor Space"} 4194304.0
                jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 5.0331648E7
                jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 1.2582912E8
                jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 9.0E7
                presage_group_commit_batch_transactions_count 120.0
                presage_group_commit_batch_transactions_sum 4800.0
                presage_publish_seconds{quantile="0.99",} 0.004
                weird{label="a \\"quoted\\", comma"} 1 1700000000000
                """);
        assertEquals(52.0, m.heapAfterGcBytes().getAsDouble() / (1024 * 1024), 1e-9);
        assertEquals(172.0, m.heapUsedBytes().getAsDouble() / (1024 * 1024), 1e-9);
        assertEquals(120.0, m.sum("presage_group_commit_batch_transactions_count").getAsDouble());
        assertEquals(0.004, m.get("presage_publish_seconds", "quantile", "0.99").getAsDouble());
        assertEquals(1.0, m.get("weird", "label", "a \"quoted\", comma").getAsDouble());
        assertFalse(m.sum("absent").isPresent());
    }

    @Test
    void cpuAndAllocationPerCommitComeFromTheCoordinatorsCountersAroundThePhase() throws Exception {
        PrometheusText before = PrometheusText.parse("""
                process_cpu_time_ns_total 1.0E10
                jvm_gc_memory_allocated_bytes_total 1.0E9
                """);
        PrometheusText after = PrometheusText.parse("""
                process_cpu_time_ns_total 1.5E10
                jvm_gc_memory_allocated_bytes_total 1.8192E9
                """);
        CommitReport r = new CommitReport();
        CommitReport.costsPerCommit(r, before, after, 40_000);
        assertEquals(125.0, r.coordinatorCpuUsPerCommit, 1e-9); // 5 s of CPU over 40,000 commits
        assertEquals(20.0, r.coordinatorAllocKbPerCommit, 1e-9); // 819.2 MB over 40,000 commits
        JsonNode j = new ObjectMapper().readTree(ResultLine.of(CommitReport.resultFields(parse(), r)).substring("RESULT ".length()));
        assertEquals(125.0, j.get("coordinator_cpu_us_per_commit").asDouble(), 1e-9);
        assertEquals(20.0, j.get("coordinator_alloc_kb_per_commit").asDouble(), 1e-9);

        CommitReport none = new CommitReport();
        CommitReport.costsPerCommit(none, before, after, 0);
        assertTrue(Double.isNaN(none.coordinatorCpuUsPerCommit), "nothing committed: no cost per commit");
    }

    @Test
    void costPerPingAndWholeMachineCostsPerOperationGoInTheResult() throws Exception {
        PrometheusText before = PrometheusText.parse("process_cpu_time_ns_total 2.0E10\n");
        PrometheusText after = PrometheusText.parse("process_cpu_time_ns_total 2.6E10\n");
        assertEquals(25.0, CommitReport.cpuUsPerOp(before, after, 240_000), 1e-9); // 6 s of CPU over 240,000 pings
        assertTrue(Double.isNaN(CommitReport.cpuUsPerOp(before, after, 0)));
        CommitReport r = new CommitReport();
        r.coordinatorCpuUsPerPing = 25.0;
        r.commitTps = 10_000;
        r.machineCpuCommit = 1.8; // 180 µs of the machine per commit
        r.pingRps = 40_000;
        r.machineCpuPing = 1.6; // 40 µs per ping
        JsonNode j = new ObjectMapper().readTree(ResultLine.of(CommitReport.resultFields(parse(), r)).substring("RESULT ".length()));
        assertEquals(25.0, j.get("coordinator_cpu_us_per_ping").asDouble(), 1e-9);
        assertEquals(180.0, j.get("machine_cpu_us_per_commit").asDouble(), 1e-9);
        assertEquals(40.0, j.get("machine_cpu_us_per_ping").asDouble(), 1e-9);
        CommitReport empty = new CommitReport();
        j = new ObjectMapper().readTree(ResultLine.of(CommitReport.resultFields(parse(), empty)).substring("RESULT ".length()));
        assertTrue(j.get("machine_cpu_us_per_commit").isNull() && j.get("coordinator_cpu_us_per_ping").isNull(),
                "unmeasured is null, not NaN or a division by zero: " + j);
    }

    @Test
    void machineCpuComesFromProcStat() {
        long[] t = CpuClock.parseProcStat("cpu  100 5 50 800 20 3 2 0 0 0");
        assertEquals(980, t[0]);
        assertEquals(820, t[1]);
    }

    @Test
    void rawPublishPayloadIsOneEncodedTransaction() {
        int n = RawJetStream.realisticPayload().length;
        assertTrue(n > 80 && n < 400, "one two-key transaction encodes to a couple of hundred bytes: " + n);
    }
}
