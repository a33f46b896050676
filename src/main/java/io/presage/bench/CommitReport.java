package io.presage.bench;

import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Everything {@code ./presage bench commit} measured, its {@code RESULT} fields and its lines of text.
 * Fields stay NaN (or -1) when not measured.
 */
final class CommitReport {

    long committed;
    long aborted;
    long unavailable;
    long errors;
    double commitSeconds;
    double commitTps;
    double commitP50;
    double commitP90;
    double commitP99;
    double commitMax;
    double txnP50;
    double txnP99;
    double commitPhaseHttpRps;
    double pingRps;
    double pingP50;
    double pingP99;
    double syncTps;
    double syncP50;
    double syncP99;
    double asyncTps;
    int payloadBytes;
    double heapAfterGcMb = Double.NaN;
    double heapUsedMb = Double.NaN;
    double liveDataMb = Double.NaN;
    double meanBatchTxns = Double.NaN;
    double meanBatchBytes = Double.NaN;
    double meanPublishMs = Double.NaN;
    double gcPauses = Double.NaN;
    double gcPauseMs = Double.NaN;
    double coordinatorCpuCores = Double.NaN;
    /** The coordinator's CPU time and allocation per committed transaction: what a change to the commit path saves. */
    double coordinatorCpuUsPerCommit = Double.NaN;
    double coordinatorAllocKbPerCommit = Double.NaN;
    /** The same for a ping, measured around the ping phase: what a commit costs beyond an HTTP request. */
    double coordinatorCpuUsPerPing = Double.NaN;

    double clientCpuCommit = Double.NaN;
    double clientCpuPing = Double.NaN;
    double machineCpuCommit = Double.NaN;
    double machineCpuPing = Double.NaN;
    double machineCpuIdle = Double.NaN;
    /** How long the coordinator's JVM had been running when the commit phase began. */
    double coordinatorUptimeS = Double.NaN;
    /** Transactions the coordinator had committed since it started, when the measured phase began. */
    double coordinatorCommittedBefore = Double.NaN;
    int warmupSeconds;
    /** Transactions the warm-up committed (this run's workload, not measured). */
    long warmupCommitted;
    boolean mirrors;
    long lagSamples;
    long lagTimeouts;
    long lagSkipped;
    double lagP50 = Double.NaN;
    double lagP99 = Double.NaN;

    double abortRate() {
        long n = committed + aborted;
        return n == 0 ? 0 : (double) aborted / n;
    }

    /** The whole machine's CPU (client, servers, everything) per commit and per ping, in µs. */
    double machineCpuUsPerCommit() {
        return machineCpuCommit * 1e6 / commitTps;
    }

    double machineCpuUsPerPing() {
        return machineCpuPing * 1e6 / pingRps;
    }

    static Map<String, Object> resultFields(CommitBench.Options o, CommitReport r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("bench", "commit");
        m.put("seconds", o.seconds());
        m.put("clients", o.clients());
        m.put("keys", o.keys());
        m.put("reads", o.reads().label());
        m.put("ids", o.ids());
        if (o.rate() > 0) {
            m.put("target_rate_tps", o.rate());
        }
        m.put("commit_tps", Math.round(r.commitTps));
        m.put("commit_p50_ms", r.commitP50);
        m.put("commit_p90_ms", r.commitP90);
        m.put("commit_p99_ms", r.commitP99);
        m.put("commit_max_ms", r.commitMax);
        m.put("txn_p50_ms", r.txnP50);
        m.put("txn_p99_ms", r.txnP99);
        m.put("committed", r.committed);
        m.put("aborted", r.aborted);
        m.put("unavailable", r.unavailable);
        m.put("errors", r.errors);
        m.put("abort_rate", r.abortRate());
        m.put("commit_phase_http_rps", Math.round(r.commitPhaseHttpRps));
        m.put("http_ceiling_rps", Math.round(r.pingRps));
        m.put("ping_p50_ms", r.pingP50);
        m.put("ping_p99_ms", r.pingP99);
        m.put("jetstream_sync_publish_tps", Math.round(r.syncTps));
        m.put("jetstream_sync_publish_p50_ms", r.syncP50);
        m.put("jetstream_sync_publish_p99_ms", r.syncP99);
        m.put("jetstream_async_publish_tps", Math.round(r.asyncTps));
        m.put("jetstream_payload_bytes", r.payloadBytes);
        m.put("commit_vs_http_ceiling", r.pingRps > 0 ? r.commitTps / r.pingRps : Double.NaN);
        m.put("commit_vs_sync_publish", r.syncTps > 0 ? r.commitTps / r.syncTps : Double.NaN);
        m.put("coordinator_heap_after_gc_mb", r.heapAfterGcMb);
        m.put("coordinator_uptime_s", r.coordinatorUptimeS);
        m.put("coordinator_committed_before", r.coordinatorCommittedBefore);
        m.put("warmup_s", r.warmupSeconds);
        m.put("warmup_committed", r.warmupCommitted);
        m.put("coordinator_heap_used_mb", r.heapUsedMb);
        m.put("coordinator_live_data_mb", r.liveDataMb);
        m.put("group_commit_mean_txns", r.meanBatchTxns);
        m.put("group_commit_mean_bytes", r.meanBatchBytes);
        m.put("publish_mean_ms", r.meanPublishMs);
        m.put("coordinator_gc_pauses", r.gcPauses);
        m.put("coordinator_gc_pause_ms", r.gcPauseMs);
        m.put("coordinator_cpu_cores", r.coordinatorCpuCores);
        m.put("coordinator_cpu_us_per_commit", r.coordinatorCpuUsPerCommit);
        m.put("coordinator_alloc_kb_per_commit", r.coordinatorAllocKbPerCommit);
        m.put("coordinator_cpu_us_per_ping", r.coordinatorCpuUsPerPing);
        m.put("machine_cpu_us_per_commit", r.machineCpuUsPerCommit());
        m.put("machine_cpu_us_per_ping", r.machineCpuUsPerPing());
        m.put("client_cpu_cores_commit", r.clientCpuCommit);
        m.put("client_cpu_cores_ping", r.clientCpuPing);
        m.put("machine_cpu_cores_commit", r.machineCpuCommit);
        m.put("machine_cpu_cores_ping", r.machineCpuPing);
        m.put("machine_cpu_cores_before", r.machineCpuIdle);
        m.put("cpus", Runtime.getRuntime().availableProcessors());
        if (r.mirrors) {
            m.put("lag_p50_ms", r.lagP50);
            m.put("lag_p99_ms", r.lagP99);
            m.put("lag_samples", r.lagSamples);
            m.put("lag_timeouts", r.lagTimeouts);
            m.put("lag_skipped", r.lagSkipped);
        }
        return m;
    }

    /** What the coordinator's metrics say about the commit phase, read before and after it (either may be null). */
    void coordinatorMetrics(PrometheusText before, PrometheusText after, double seconds, long committed) {
        if (after != null) {
            heapAfterGcMb = mb(after.heapAfterGcBytes());
            heapUsedMb = mb(after.heapUsedBytes());
            liveDataMb = mb(after.sum("jvm_gc_live_data_size_bytes"));
        }
        if (before != null && after != null) {
            double messages = delta(before, after, "presage_group_commit_batch_transactions_count");
            meanBatchTxns = delta(before, after, "presage_group_commit_batch_transactions_sum") / messages;
            meanBatchBytes = delta(before, after, "presage_group_commit_batch_bytes_sum")
                    / delta(before, after, "presage_group_commit_batch_bytes_count");
            meanPublishMs = 1e3 * delta(before, after, "presage_publish_seconds_sum")
                    / delta(before, after, "presage_publish_seconds_count");
            gcPauses = delta(before, after, "jvm_gc_pause_seconds_count");
            gcPauseMs = 1e3 * delta(before, after, "jvm_gc_pause_seconds_sum");
            // Micrometer's process CPU time counter, when the JVM provides it.
            coordinatorCpuCores = delta(before, after, "process_cpu_time_ns_total") / 1e9 / seconds;
            costsPerCommit(this, before, after, committed);
        }
    }

    /** The coordinator's CPU time and allocation per committed transaction, from its metrics around the phase. */
    static void costsPerCommit(CommitReport r, PrometheusText before, PrometheusText after, long committed) {
        if (committed <= 0) {
            return;
        }
        r.coordinatorCpuUsPerCommit = cpuUsPerOp(before, after, committed);
        // Micrometer counts what the young generation (all of the heap, for a single-generation
        // collector such as Shenandoah) grew by between collections.
        r.coordinatorAllocKbPerCommit = delta(before, after, "jvm_gc_memory_allocated_bytes_total") / 1024 / committed;
    }

    /** The coordinator's CPU time per operation, in µs, from its counter around a phase of {@code ops} operations. */
    static double cpuUsPerOp(PrometheusText before, PrometheusText after, long ops) {
        return ops <= 0 ? Double.NaN : delta(before, after, "process_cpu_time_ns_total") / 1e3 / ops;
    }

    private static double delta(PrometheusText before, PrometheusText after, String name) {
        OptionalDouble a = after.sum(name);
        OptionalDouble b = before.sum(name);
        return a.isPresent() && b.isPresent() ? a.getAsDouble() - b.getAsDouble() : Double.NaN;
    }

    private static double mb(OptionalDouble bytes) {
        return bytes.isPresent() ? bytes.getAsDouble() / (1024 * 1024) : Double.NaN;
    }

    static String cores(double c) {
        return Double.isNaN(c) ? "n/a" : String.format(Locale.ROOT, "%.2f of %d cores busy", c,
                Runtime.getRuntime().availableProcessors());
    }

    /** The commit phase's lines of the report. */
    static void printCommit(CommitReport r, CommitBench.Reads reads) {
        System.out.printf(Locale.ROOT, "  commit: %,.0f txn/s committed (%,d in %.1f s), aborted %,d (%.2f %%), unavailable %,d, "
                        + "errors %,d%n",
                r.commitTps, r.committed, r.commitSeconds, r.aborted, 100 * r.abortRate(), r.unavailable, r.errors);
        System.out.printf(Locale.ROOT, "          commit (POST) latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; "
                        + "whole transaction (%s) p50 %.2f ms, p99 %.2f ms%n",
                r.commitP50, r.commitP90, r.commitP99, r.commitMax, switch (reads) {
                    case GET -> "2 GETs + POST";
                    case BATCH -> "batch read + POST";
                    case NONE -> "blind writes, POST only";
                    case PROCEDURE -> "transfer procedure, POST only";
                }, r.txnP50, r.txnP99);
        System.out.printf(Locale.ROOT, "          HTTP requests during the phase: %,.0f/s; CPU: client %.2f cores, machine %s, "
                        + "coordinator %s cores%n",
                r.commitPhaseHttpRps, r.clientCpuCommit, cores(r.machineCpuCommit), ResultLine.opt(r.coordinatorCpuCores, "%.2f"));
        System.out.printf(Locale.ROOT, "          coordinator: %s txns and %s bytes per log message, publish-to-ack mean %s ms, "
                        + "%s GC pauses (%s ms); heap after GC %s MB (used %s MB, live data %s MB)%n",
                ResultLine.opt(r.meanBatchTxns, "%.1f"), ResultLine.opt(r.meanBatchBytes, "%,.0f"), ResultLine.opt(r.meanPublishMs, "%.2f"),
                ResultLine.opt(r.gcPauses, "%.0f"), ResultLine.opt(r.gcPauseMs, "%.0f"), ResultLine.opt(r.heapAfterGcMb, "%.1f"), ResultLine.opt(r.heapUsedMb, "%.1f"),
                ResultLine.opt(r.liveDataMb, "%.1f"));
        System.out.printf(Locale.ROOT, "          coordinator per committed transaction: %s µs CPU, %s KB allocated%n",
                ResultLine.opt(r.coordinatorCpuUsPerCommit, "%.0f"), ResultLine.opt(r.coordinatorAllocKbPerCommit, "%.1f"));
        if (r.mirrors) {
            System.out.printf(Locale.ROOT, "          replication lag (commit ack → visible at a mirror): p50 %s ms, p99 %s ms "
                            + "(%d samples, %d not visible within 10 s, %d skipped with %d probes in flight: "
                            + "when many are, the lag was long and the percentiles are low)%n",
                    ResultLine.opt(r.lagP50, "%.2f"), ResultLine.opt(r.lagP99, "%.2f"), r.lagSamples, r.lagTimeouts,
                    r.lagSkipped, LagProbes.MAX_PROBES);
        }
    }
}
