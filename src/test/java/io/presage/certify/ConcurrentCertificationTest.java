package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Many threads certify at once through the single-writer loop; the history stays serializable. */
class ConcurrentCertificationTest {

    @ParameterizedTest(name = "{0}, {1} partition(s)")
    @CsvSource({"ADAPTIVE,1", "ADAPTIVE,3", "BASIC,1", "BASIC,3"})
    void manyThreadsCertifyingAtOnceKeepTheHistorySerializable(Policy policy, int partitions) throws Exception {
        History history = new History();
        CertifierConfig cfg = new CertifierConfig(policy, 4, 64, 16, partitions, 256);
        Certifier certifier = new Certifier(cfg, new Hlc(), history::read, false);
        AtomicInteger adjusted = new AtomicInteger();
        int threads = 8;
        int perThread = 3_000;
        try (CertifierLoop loop = new CertifierLoop(certifier, 1024, 64, CertifierLoop.BatchHandler.ANSWER_AT_ONCE)) {
            List<Thread> workers = new ArrayList<>();
            List<Throwable> errors = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Thread w = new Thread(() -> {
                    ThreadLocalRandom rnd = ThreadLocalRandom.current();
                    try {
                        for (int i = 0; i < perThread; i++) {
                            runOne(loop, history, rnd, adjusted);
                        }
                    } catch (Throwable e) {
                        synchronized (errors) {
                            errors.add(e);
                        }
                    }
                });
                workers.add(w);
                w.start();
            }
            for (Thread w : workers) {
                w.join();
            }
            assertTrue(errors.isEmpty(), () -> errors.toString());
        }
        assertNull(history.violation());
        assertTrue(history.size() > threads * perThread / 10, "a fair share committed: " + history.size());
        if (policy == Policy.ADAPTIVE) {
            assertTrue(adjusted.get() > 0, "contention this high places some transactions in the past");
        }
    }

    private static void runOne(CertifierLoop loop, History history, ThreadLocalRandom rnd, AtomicInteger adjusted)
            throws Exception {
        Map<String, Long> reads = new LinkedHashMap<>();
        int nReads = 1 + rnd.nextInt(3);
        for (int r = 0; r < nReads; r++) {
            String k = "k" + rnd.nextInt(40);
            reads.putIfAbsent(k, history.read(k));
            if (rnd.nextInt(4) == 0) {
                Thread.onSpinWait(); // let others commit between our reads
            }
        }
        List<String> writes = new ArrayList<>();
        if (rnd.nextInt(3) > 0) {
            writes.add("k" + rnd.nextInt(40));
        }
        String[] rk = reads.keySet().toArray(String[]::new);
        long[] rv = reads.values().stream().mapToLong(Long::longValue).toArray();
        TxnRequest txn = TxnRequest.of(rk, rv, writes.toArray(String[]::new));
        CompletableFuture<Decision> answer = new CompletableFuture<>();
        while (!loop.submit(txn, null, d -> {
            // On the loop thread, in certification order: the store moves exactly as commits happen.
            if (d.committed()) {
                history.commit(d.timestamp(), reads, writes);
            }
            answer.complete(d);
        })) {
            Thread.onSpinWait();
        }
        Decision d = answer.get(10, TimeUnit.SECONDS);
        if (d.adjusted()) {
            adjusted.incrementAndGet();
        }
    }
}
