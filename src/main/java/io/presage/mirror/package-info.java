/**
 * The mirror role (DESIGN §1, §5, §6): a node that follows the log into its own PostgreSQL and
 * answers reads locally, saying how far to trust each answer; writes go to the coordinator.
 *
 * <h2>Read model</h2>
 * A mirror's state is a prefix of the log: everything up to its applied sequence, nothing after.
 * Every local answer names that position ({@code sequence}, and the {@code token} encoding it) and
 * comes from one such prefix, so a reader never sees half a transaction and a batch read is one
 * consistent state. Reads come from a bounded {@link io.presage.apply.ReadCache} kept coherent by
 * the applier, or from one PostgreSQL statement that reads the items and {@code apply_state.last_seq}
 * together. Positions answered never decrease: a store read that is ahead of the cache waits for the
 * applier to bring the cache there before it answers.
 *
 * <h2>Consistency levels</h2>
 * <ul>
 * <li><b>predictive</b>: the local answer with a {@code confidence} (below); with
 *     {@code minConfidence}, an answer below it is replaced by the coordinator's.</li>
 * <li><b>causal</b> ({@code after=TOKEN}): the read waits until the applied sequence reaches the token's
 *     position, woken by the applier ({@link io.presage.log.PositionWaiters}), bounded by
 *     {@code timeoutMs} (504). A token from a write anywhere thus gives read-your-writes here. While
 *     the copy is incomplete (a parked message, a stream ending before the applied sequence; checked
 *     before the wait and after it) the coordinator answers instead, at the token or later.</li>
 * <li><b>strong</b>: the coordinator's latest committed version ({@code POST /v1/reconcile}), with
 *     concurrent reconciliations batched into one request ({@link io.presage.mirror.ReconcileBatcher}).
 *     Primary answers are never put into the cache: it holds log prefixes only.</li>
 * </ul>
 *
 * <h2>Confidence</h2>
 * 0 for a key with an update received but not applied yet ({@link io.presage.mirror.PendingKeys},
 * the pre-apply buffer's index). Otherwise {@code exp(-λ·S)} ({@link io.presage.mirror.Confidence}):
 * λ the key's decayed write rate learned from the log (corrected for the time since this node first
 * saw the key written, so a key that has just become busy is not taken as quiet) plus a prior from the
 * overall rate and a floor of a tenth of one write per τ, so that no rate decays to 0 in a quiet spell
 * ({@link io.presage.mirror.WriteRates}), S how far behind the mirror's knowledge of the log is
 * ({@link io.presage.mirror.Staleness}), or, for a version that a reconciliation with the coordinator
 * confirmed more recently than that, the time since the confirmation's request was sent
 * ({@link io.presage.mirror.Confirmations}; prefetches of predicted keys are such reconciliations,
 * {@link io.presage.mirror.Prefetcher}). It is measured, not assumed: {@link io.presage.mirror.Calibration}
 * checks a sample of reads against the log afterwards and counts, per confidence decile, how many
 * were current.
 *
 * <h2>Apply path additions</h2>
 * The shared {@link io.presage.apply.Applier} calls {@link io.presage.mirror.MirrorNode} (its
 * {@link io.presage.apply.ApplyHook}): decoded messages are registered as pending before their database
 * transaction; each incoming write is validated against local state by version and vector clock
 * ({@link io.presage.mirror.VersionValidation}; a write the store already includes is left out, one
 * concurrent with a local speculative write wins and the speculative one is marked for rollback in
 * {@link io.presage.mirror.SpeculativeWrites}); after the commit, the cache, the pending index, the
 * write rates, calibration and the causal waiters learn what was applied, in that order.
 *
 * <h2>Writes</h2>
 * Checked locally with the coordinator's own rules (the same 400/413), then forwarded
 * ({@link io.presage.mirror.CoordinatorClient}); the coordinator's status and body are the answer.
 * Unreachable or too slow: 503, and reads go on. With {@code speculative=true} they are answered at
 * once instead and decided afterwards ({@link io.presage.mirror.MirrorSpeculations}, the model in
 * {@link io.presage.speculate}). Speculations do not use {@link io.presage.mirror.SpeculativeWrites}:
 * the coordinator's answer decides them, and a mirror's reads never include a speculative value.
 */
package io.presage.mirror;
