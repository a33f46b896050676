package io.presage.bench;

import java.util.concurrent.TimeUnit;

import io.presage.certify.Certifier;
import io.presage.certify.CertifierConfig;
import io.presage.certify.Decision;
import io.presage.certify.Hlc;
import io.presage.certify.TxnRequest;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Certification throughput (transactions/s, one certifier thread) for YCSB-like transactions over
 * 1M keys, 4 keys each. Each operation generates a transaction that reads the current versions,
 * certifies it and records the commit; generation alone is measured beside it, so that the
 * certifier's own rate can be derived from the two.
 *
 * <p>Run: {@code ./presage bench jmh} (or with a JMH regex / options after it).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"-Xmx4g", "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED"})
public class CertifyBenchmark {
    @Param({"0", "0.8", "0.99"})
    public double zipf;

    @Param({"1", "2"})
    public int partitions;

    @Param({"adaptive"})
    public String policy;

    private YcsbTransactions work;
    private Certifier certifier;

    @Setup(Level.Trial)
    public void setUp() {
        work = new YcsbTransactions(1_000_000, zipf, 42);
        CertifierConfig cfg = CertifierConfig.DEFAULT
                .withPolicy(io.presage.certify.Policy.parse(policy))
                .withPartitions(partitions);
        certifier = new Certifier(cfg, new Hlc(), work::versionOf, false);
    }

    /** Generate one transaction (reading current versions), certify it, record a commit. */
    @Benchmark
    public Decision generateAndCertify() {
        TxnRequest txn = work.next(work.nextKind());
        Decision d = certifier.certify(txn);
        if (d.committed()) {
            work.committed(txn, d.timestamp());
        }
        return d;
    }

    /**
     * The workload's own cost, measured beside it: certification alone takes
     * {@code 1/generateAndCertify - 1/generateOnly} per transaction.
     */
    @Benchmark
    public TxnRequest generateOnly() {
        return work.next(work.nextKind());
    }
}
