/**
 * The prediction engine (DESIGN §7), framework-free: it learns online which key a session reads after
 * which ({@link io.presage.predict.Successors}, fed by {@link io.presage.predict.SessionTrail}) and keeps
 * score of its predictions by what each session reads next ({@link io.presage.predict.PredictionScore}).
 *
 * <h2>When a prefetch can help, and when it cannot</h2>
 * DESIGN §7 has a mirror reconcile predicted keys with the primary ahead of demand, so that their
 * later reads are answered locally at high confidence. A reconciliation's answer says the key was
 * current when the primary answered; the mirror only knows it was sent at {@code T0}, so the answer
 * vouches for the key as of {@code T0}, and at a read {@code d} later its staleness is
 * {@code RTT + d}. The log, meanwhile, tells the mirror of every commit one way, so a healthy mirror's
 * staleness {@code S} is one network trip plus the commit pipeline (group commit, JetStream, apply).
 * Across data centres the round trip is the larger of the two: a reconciliation can then only make
 * a key look <em>older</em> than the log already does, and prefetching would cost the primary requests
 * for nothing. It pays when the mirror is behind its log (a backlog, a slow applier, the stream cut
 * while HTTP still works) or where the pipeline is slower than a round trip (a mirror next to its
 * primary). So the mirror prefetches only while its usual staleness (a moving average of {@code S})
 * exceeds the round trip it measures for reconciliations plus a session's usual pause between reads
 * ({@code io.presage.mirror.Prefetcher}), and never for a key whose confidence is already high.
 * Measured (BENCHMARKS.md, "Prediction and prefetching"): next to its coordinator, a healthy mirror
 * gains nothing clear from it, and prefetching on every momentary jump of {@code S} cost more than it
 * gained.
 */
package io.presage.predict;
