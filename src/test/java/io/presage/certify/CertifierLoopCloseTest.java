package io.presage.certify;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/**
 * A submission never waits forever on a closed loop. A request thread that read the loop just before
 * a rebuild closed it queued its transaction after the close had emptied the queue: its client
 * waited the whole commit timeout, and an idempotency id claimed meanwhile stayed unanswered.
 */
class CertifierLoopCloseTest {

    private static Certifier certifier() {
        return new Certifier(new CertifierConfig(Policy.ADAPTIVE, 4, 64, 16, 1, 256), new Hlc(), k -> 0L, false);
    }

    private static TxnRequest blindWrite(String key) {
        return new TxnRequest(new String[0], new long[0], new String[] {key});
    }

    @Test
    void aSubmissionAfterCloseIsRefused() {
        CertifierLoop loop = new CertifierLoop(certifier(), 64, 16, CertifierLoop.BatchHandler.ANSWER_AT_ONCE);
        loop.close();
        AtomicInteger told = new AtomicInteger();
        assertFalse(loop.submit(blindWrite("k"), null, d -> told.incrementAndGet()), "refused, the caller answers 503");
        assertEquals(0, told.get());
    }

    @Test
    void everySubmissionRacingACloseIsAnsweredOneWayOrTheOther() throws Exception {
        for (int round = 0; round < 50; round++) {
            CertifierLoop loop = new CertifierLoop(certifier(), 4096, 16, CertifierLoop.BatchHandler.ANSWER_AT_ONCE);
            int threads = 4;
            int each = 200;
            AtomicInteger decided = new AtomicInteger();
            AtomicInteger notCertified = new AtomicInteger();
            AtomicInteger refused = new AtomicInteger();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> submitters = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                Thread th = new Thread(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < each; i++) {
                        boolean queued = loop.submit(blindWrite("k" + id + "-" + i), null, new CertifierLoop.Callback() {
                            @Override
                            public void onDecision(Decision d) {
                                decided.incrementAndGet();
                            }

                            @Override
                            public void notCertified() {
                                notCertified.incrementAndGet();
                            }
                        });
                        if (!queued) {
                            refused.incrementAndGet();
                        }
                    }
                });
                submitters.add(th);
                th.start();
            }
            start.countDown();
            loop.close();
            for (Thread th : submitters) {
                th.join();
            }
            assertEquals(threads * each, decided.get() + notCertified.get() + refused.get(),
                    "round " + round + ": decided " + decided + ", not certified " + notCertified + ", refused " + refused);
        }
    }
}
