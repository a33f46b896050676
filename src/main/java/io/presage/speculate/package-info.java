/**
 * Speculative transactions at a mirror (DESIGN §8, API "Speculative transactions at a mirror").
 *
 * <h2>What a client is promised</h2>
 * A speculative call is answered at once ({@code 202 SPECULATIVE}) with an id and, for a procedure,
 * the result of running it on the mirror's local data. The coordinator decides; the mirror only
 * guesses early. The outcome is then one of:
 * <ul>
 * <li><b>COMMITTED</b>: the coordinator committed the transaction as speculated (the same reads, the
 *     same writes), and its log message has been applied at this mirror, so the mirror's own reads
 *     now show it.</li>
 * <li><b>REEXECUTED</b>: the speculation lost (certification aborted it, or the procedure refused on
 *     local data), and the procedure was run again on the coordinator's latest data and committed
 *     then; {@code result} is the new result, {@code speculativeResult} the one first answered.</li>
 * <li><b>ROLLED_BACK</b>: nothing was committed. A plain transaction cannot be re-run (the client
 *     computed its writes), so its abort is final; a procedure is rolled back when it refuses on the
 *     latest data (insufficient funds, say) or after {@link io.presage.speculate.Speculator#MAX_ATTEMPTS}
 *     attempts.</li>
 * </ul>
 *
 * <h2>Why the coordinator's answer decides, not a newer version arriving</h2>
 * DESIGN §8 says a speculation is rolled back when "a conflicting version arrives first". With
 * timestamp-history certification that is too eager: a transaction whose read version has since been
 * overwritten can still commit at an adjusted timestamp in the past (DESIGN §3), and its writes come
 * after the key's current version whatever the mirror has seen. So the mirror sends the read and write
 * sets and acts on the certification answer alone.
 *
 * <h2>Exactly once</h2>
 * Every attempt is submitted under an idempotency id: a plain transaction under its own id, attempt
 * {@code n} of a procedure under {@code "<id>#n"}, the ids the coordinator's own procedure runner walks.
 * A coordinator that is unreachable or answers 503 leaves the outcome unknown, so the same attempt is
 * sent again (with backoff, for as long as it takes) and the coordinator answers a repeat with the first
 * outcome. A procedure speculated at a mirror and the same call sent later to the coordinator with the
 * same id therefore commit at most once between them.
 *
 * <h2>What it does not do</h2>
 * Speculative writes are not shown to the mirror's reads: a read answers from a log prefix, with a
 * confidence, and a speculative value is not in the log. The client sees its speculation through the
 * 202's {@code result} and through {@code GET /v1/transactions/{id}}.
 *
 * <h2>Crashes</h2>
 * The mirror records each speculation in its PostgreSQL before the 202, and its outcome when decided.
 * A restarted mirror resumes the undecided ones ({@link io.presage.speculate.Speculator#resume}): if an
 * attempt committed, that is the outcome; otherwise the attempts start again from the first, under the
 * same ids, so an attempt sent before the crash is answered with its first outcome instead of running
 * twice. One gap remains: an attempt still in flight when both the mirror and the coordinator restart
 * (the coordinator forgets aborted and running ids) could commit after the resumed speculation has
 * checked for it, and the resumed walk commit a second attempt.
 */
package io.presage.speculate;
