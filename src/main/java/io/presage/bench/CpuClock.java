package io.presage.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;

/** CPU accounting for the benchmarks: this process, and the whole machine from /proc/stat (Linux). */
record CpuClock(long wallNanos, long processNanos, long[] machine) {
    static CpuClock now() {
        return new CpuClock(System.nanoTime(), processCpuNanos(), machineTicks());
    }

    /** Cores this process used on average since. */
    double processCores() {
        long p = processCpuNanos();
        return p < 0 || processNanos < 0 ? Double.NaN : (double) (p - processNanos) / (System.nanoTime() - wallNanos);
    }

    /** Cores busy on the whole machine on average since (anything not idle or waiting for I/O). */
    double machineCores() {
        long[] now = machineTicks();
        if (now == null || machine == null) {
            return Double.NaN;
        }
        double total = now[0] - machine[0];
        double idle = now[1] - machine[1];
        return total <= 0 ? Double.NaN : (1 - idle / total) * Runtime.getRuntime().availableProcessors();
    }

    private static long processCpuNanos() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getProcessCpuTime();
        }
        return -1;
    }

    /** {total, idle + iowait} jiffies from the first line of /proc/stat, or null. */
    static long[] machineTicks() {
        try {
            String line = Files.readAllLines(Path.of("/proc/stat")).get(0);
            return parseProcStat(line);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    static long[] parseProcStat(String line) {
        String[] f = line.trim().split("\\s+");
        if (!f[0].equals("cpu") || f.length < 5) {
            return null;
        }
        long total = 0;
        // user nice system idle iowait irq softirq steal [guest guest_nice, already counted in user/nice]
        for (int i = 1; i < Math.min(f.length, 9); i++) {
            total += Long.parseLong(f[i]);
        }
        long idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0);
        return new long[] {total, idle};
    }
}
