package io.presage.bench;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import io.presage.certify.Certifier;
import io.presage.certify.CertifierConfig;
import io.presage.certify.Decision;
import io.presage.certify.Hlc;
import io.presage.certify.Policy;
import io.presage.certify.TxnRequest;

/**
 * {@code ./presage bench certify}: certification throughput, latency and abort rate under modelled
 * contention. Each transaction reads the versions current when it is generated, then is certified
 * only after the {@code inflight - 1} transactions generated before it have been — so with 16 in
 * flight, 15 others may have committed between its reads and its certification, as with real
 * clients. Both policies run the same generated key sequence (same seed) side by side.
 */
public final class CertifyBench {

    record Options(String policy, double zipf, int inflight, int seconds, int partitions, int keys, long seed, int window) {
    }

    record Result(long certified, long committed, long aborted, long adjusted, double serviceTps, double wallTps,
                  double p50us, double p99us, long coldLookups, long windowKeys) {
        double abortRate() {
            return certified == 0 ? 0 : (double) aborted / certified;
        }

        double adjustedRate() {
            return certified == 0 ? 0 : (double) adjusted / certified;
        }
    }

    public static void main(String[] args) {
        Options o;
        try {
            o = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("presage bench certify: " + e.getMessage());
            System.err.println("usage: ./presage bench certify [--policy adaptive|basic|both] [--zipf θ] "
                    + "[--inflight N] [--seconds S] [--partitions P] [--keys K] [--window W]");
            System.exit(2);
            return;
        }
        String[] policies = o.policy.equals("both") ? new String[] {"adaptive", "basic"} : new String[] {o.policy};
        System.out.printf(Locale.ROOT, "certify bench: %d keys, zipf θ=%.2f, %d in flight, %d partition(s), window %d keys, %d s per policy%n",
                o.keys, o.zipf, o.inflight, o.partitions, o.window, o.seconds);
        Map<String, Result> results = new LinkedHashMap<>();
        for (String p : policies) {
            System.out.printf("  %s: warming up…%n", p);
            run(o, Policy.parse(p), Math.min(3, o.seconds));
            System.out.printf("  %s: measuring %d s…%n", p, o.seconds);
            Result r = run(o, Policy.parse(p), o.seconds);
            results.put(p, r);
            System.out.printf(Locale.ROOT,
                    "  %-8s %,12.0f txn/s certifier capacity (%,.0f txn/s wall incl. workload), abort rate %5.2f %%, "
                            + "adjusted %5.2f %%, latency p50 %.2f µs p99 %.2f µs, %,d certified%n",
                    p, r.serviceTps, r.wallTps, 100 * r.abortRate(), 100 * r.adjustedRate(), r.p50us, r.p99us, r.certified);
        }
        if (results.size() == 2) {
            double a = results.get("adaptive").abortRate();
            double b = results.get("basic").abortRate();
            System.out.printf(Locale.ROOT, "  adaptive aborts %.1f %% as often as basic on the same workload%n",
                    b == 0 ? 0 : 100 * a / b);
        }
        System.out.println(resultLine(o, results));
    }

    static Result run(Options o, Policy policy, int seconds) {
        YcsbTransactions work = new YcsbTransactions(o.keys, o.zipf, o.seed);
        CertifierConfig cfg = CertifierConfig.DEFAULT.withPolicy(policy).withPartitions(o.partitions)
                .withWindow(o.window, Math.max(1024, Integer.highestOneBit(o.window) * 2));
        Certifier certifier = new Certifier(cfg, new Hlc(), work::versionOf, false);
        ArrayDeque<TxnRequest> inflight = new ArrayDeque<>(o.inflight);
        long[] lat = new long[1 << 20];
        int latN = 0;
        long certified = 0;
        long committed = 0;
        long adjusted = 0;
        long busyNanos = 0;
        final long start = System.nanoTime();
        final long end = start + seconds * 1_000_000_000L;
        long now = start;
        while (now < end) {
            for (int batch = 0; batch < 256; batch++) {
                inflight.addLast(work.next(work.nextKind()));
                if (inflight.size() < o.inflight) {
                    continue;
                }
                TxnRequest txn = inflight.removeFirst();
                long t0 = System.nanoTime();
                Decision d = certifier.certify(txn);
                long t1 = System.nanoTime();
                busyNanos += t1 - t0;
                if (latN < lat.length) {
                    lat[latN++] = t1 - t0;
                } else {
                    // Reservoir sampling keeps percentiles honest over long runs in bounded memory.
                    long j = Math.floorMod(t1 * 0x9E3779B97F4A7C15L, certified + 1);
                    if (j < lat.length) {
                        lat[(int) j] = t1 - t0;
                    }
                }
                certified++;
                if (d.committed()) {
                    committed++;
                    adjusted += d.adjusted() ? 1 : 0;
                    work.committed(txn, d.timestamp());
                }
            }
            now = System.nanoTime();
        }
        double wallSec = (now - start) / 1e9;
        Arrays.sort(lat, 0, latN);
        return new Result(certified, committed, certified - committed, adjusted,
                certified / (busyNanos / 1e9), certified / wallSec,
                percentile(lat, latN, 0.50) / 1e3, percentile(lat, latN, 0.99) / 1e3,
                certifier.coldLookups(), certifier.windowSize());
    }

    private static double percentile(long[] sorted, int n, double q) {
        if (n == 0) {
            return 0;
        }
        return sorted[Math.min(n - 1, (int) Math.floor(q * n))];
    }

    static String resultLine(Options o, Map<String, Result> results) {
        StringBuilder sb = new StringBuilder();
        sb.append("RESULT {\"bench\":\"certify\",\"zipf\":").append(num(o.zipf))
                .append(",\"inflight\":").append(o.inflight)
                .append(",\"partitions\":").append(o.partitions)
                .append(",\"keys\":").append(o.keys)
                .append(",\"window\":").append(o.window)
                .append(",\"seconds\":").append(o.seconds)
                .append(",\"policies\":{");
        boolean first = true;
        for (Map.Entry<String, Result> e : results.entrySet()) {
            Result r = e.getValue();
            sb.append(first ? "" : ",").append('"').append(e.getKey()).append("\":{")
                    .append("\"throughput_tps\":").append(Math.round(r.serviceTps))
                    .append(",\"wall_tps\":").append(Math.round(r.wallTps))
                    .append(",\"abort_rate\":").append(num(r.abortRate()))
                    .append(",\"adjusted_rate\":").append(num(r.adjustedRate()))
                    .append(",\"p50_us\":").append(num(r.p50us))
                    .append(",\"p99_us\":").append(num(r.p99us))
                    .append(",\"certified\":").append(r.certified)
                    .append(",\"cold_lookups\":").append(r.coldLookups)
                    .append('}');
            first = false;
        }
        return sb.append("}}").toString();
    }

    private static String num(double d) {
        return String.format(Locale.ROOT, "%.4f", d).replaceAll("0+$", "").replaceAll("\\.$", "");
    }

    static Options parse(String[] args) {
        String policy = "both";
        double zipf = 0.99;
        int inflight = 16;
        int seconds = 10;
        int partitions = 1;
        int keys = 1_000_000;
        long seed = 42;
        int window = CertifierConfig.DEFAULT.windowKeys();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing value after " + a);
            }
            String v = args[++i];
            try {
                switch (a) {
                    case "--policy" -> {
                        policy = v.toLowerCase(Locale.ROOT);
                        if (!policy.equals("both")) {
                            Policy.parse(policy);
                        }
                    }
                    case "--zipf" -> zipf = Double.parseDouble(v);
                    case "--inflight" -> inflight = Integer.parseInt(v);
                    case "--seconds" -> seconds = Integer.parseInt(v);
                    case "--partitions" -> partitions = Integer.parseInt(v);
                    case "--keys" -> keys = Integer.parseInt(v);
                    case "--seed" -> seed = Long.parseLong(v);
                    case "--window" -> window = Integer.parseInt(v);
                    default -> throw new IllegalArgumentException("unknown option " + a);
                }
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("not a number for " + a + ": " + v);
            }
        }
        if (zipf < 0 || zipf >= 1) {
            throw new IllegalArgumentException("--zipf must be in [0, 1)");
        }
        if (inflight < 1 || seconds < 1 || partitions < 1 || keys < 16 || window < 1) {
            throw new IllegalArgumentException("--inflight, --seconds, --partitions, --window must be ≥ 1 and --keys ≥ 16");
        }
        return new Options(policy, zipf, inflight, seconds, partitions, keys, seed, window);
    }
}
