package io.presage.log;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * Appends tracked in time order, answered after random delays or never, swept at random moments: each
 * must fail exactly when the oracle says, which is judged per append, with no reference to the queue.
 * An append fails if and only if the first sweep at or after its deadline comes before its answer.
 */
class AppendDeadlinesProperties {
    private static final long TIMEOUT = 100;
    private static final long NEVER = Long.MAX_VALUE;

    /** One append: sent {@code gap} after the previous one, answered {@code delay} after it was sent. */
    record Append(long gap, long delay) {
    }

    @Provide
    Arbitrary<List<Append>> appends() {
        Arbitrary<Long> gaps = Arbitraries.longs().between(0, 40);
        Arbitrary<Long> delays = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(8, Arbitraries.longs().between(0, 2 * TIMEOUT)),
                net.jqwik.api.Tuple.of(1, Arbitraries.just(NEVER)));
        return Combinators.combine(gaps, delays).as(Append::new).list().ofMinSize(1).ofMaxSize(60);
    }

    @Provide
    Arbitrary<List<Long>> sweeps() {
        return Arbitraries.longs().between(0, 3_000).list().ofMaxSize(40).map(l -> l.stream().sorted().toList());
    }

    @Property(tries = 1_000)
    void anAppendFailsExactlyWhenTheFirstSweepPastItsDeadlineComesBeforeItsAnswer(
            @ForAll("appends") List<Append> appends, @ForAll("sweeps") List<Long> sweeps) {
        int n = appends.size();
        long[] sent = new long[n];
        long[] answered = new long[n];
        long t = 0;
        for (int i = 0; i < n; i++) {
            t += appends.get(i).gap();
            sent[i] = t;
            answered[i] = appends.get(i).delay() == NEVER ? NEVER : t + appends.get(i).delay();
        }

        // Replay in time order; at one instant: sends, then answers, then the sweep.
        AppendDeadlines deadlines = new AppendDeadlines(Duration.ofNanos(TIMEOUT));
        List<CompletableFuture<String>> futures = new ArrayList<>();
        int nextSend = 0;
        int failedBySweeps = 0;
        List<Long> instants = new ArrayList<>(sweeps);
        instants.add(NEVER); // a last look at the end of time
        for (long sweep : instants) {
            while (nextSend < n && sent[nextSend] <= sweep) {
                futures.add(new CompletableFuture<>());
                deadlines.track(futures.get(nextSend), sent[nextSend]);
                nextSend++;
            }
            for (int i = 0; i < nextSend; i++) {
                if (answered[i] <= sweep) {
                    futures.get(i).complete("ack");
                }
            }
            if (sweep != NEVER) {
                failedBySweeps += deadlines.expire(sweep, () -> new LogUnavailableException("no ack", true, null));
            }
        }

        int expectedFailures = 0;
        for (int i = 0; i < n; i++) {
            long deadline = sent[i] + TIMEOUT;
            long firstSweepPastDeadline = sweeps.stream().filter(s -> s >= deadline).findFirst().orElse(NEVER);
            boolean shouldFail = firstSweepPastDeadline != NEVER && answered[i] > firstSweepPastDeadline;
            expectedFailures += shouldFail ? 1 : 0;
            assertEquals(shouldFail, futures.get(i).isCompletedExceptionally(),
                    "append " + i + " sent at " + sent[i] + ", answered at " + answered[i] + ", sweeps " + sweeps);
        }
        assertEquals(expectedFailures, failedBySweeps, "what expire() reports");
        Statistics.collect(expectedFailures > 0 ? "some failed" : "none failed");
        Statistics.coverage(c -> c.check("some failed").percentage(p -> p > 20));
    }
}
