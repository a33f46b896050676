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
 *     now show it. Passed over instead (parked as undecodable, say), it stays {@code SPECULATIVE}, its token
 *     shown, until this mirror has it. So is a commit whose token names another log stream than the one
 *     this mirror applied from (the stream made again, not yet noticed here): its sequence numbers another
 *     stream's message, whatever position this mirror has passed in its own.</li>
 * <li><b>REEXECUTED</b>: the speculation lost (certification aborted it, or the procedure refused on
 *     local data), and the procedure was run again on the coordinator's latest data and committed
 *     then; {@code result} is the new result, {@code speculativeResult} the one first answered.</li>
 * <li><b>ROLLED_BACK</b>: nothing was committed. A plain transaction cannot be re-run (the client
 *     computed its writes), so its abort is final; a procedure is rolled back when it refuses on the
 *     latest data (insufficient funds, say) and nothing committed under its id meanwhile (another run of
 *     the call that did is reported instead, as an earlier call's commit is), or after
 *     {@link io.presage.speculate.Speculator#MAX_ATTEMPTS} attempts.</li>
 * </ul>
 *
 * <h2>Re-executions take turns</h2>
 * A speculation that lost is re-executed on the coordinator's latest data. Speculations of the same
 * keys at one mirror used to re-execute at once, all read the same latest version, and all but one lost
 * again, until most of them were rolled back after their last attempt. Now a speculation's first
 * re-execution waits until this mirror's earlier re-executions on any of its keys are decided
 * ({@link io.presage.coord.KeyTurns}, at most {@code presage.mirror.speculation-turn-wait}, 10 s by
 * default, of the coordinator answering: one away holds the ones ahead too, and is waited out), so it
 * reads what they wrote.
 * Speculations from other mirrors and clients' own writes can still make it lose; then the random wait
 * and the attempt limit apply as before. Each re-execution costs a reconciliation, a recorded attempt
 * and a commit in turn, so one hot key's speculations are decided one after another, about a hundred a
 * second on a 2-core machine: offered faster than that, they queue (and past the wait, race as before).
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
 * Before it sends attempt {@code n} of a procedure, it records that attempt too: its number, the
 * transaction exactly as it will be sent, and the procedure's result for it
 * ({@link io.presage.speculate.Speculator.Journal}). A restarted mirror resumes the undecided ones
 * ({@link io.presage.speculate.Speculator#resume}): if an attempt committed, that is the outcome;
 * otherwise the recorded attempt is sent again, unchanged and under its id, so the coordinator answers
 * it with its first outcome, or waits for it if it is still running, and an abort carries on with the
 * next attempt. The earlier attempts were answered ABORTED and are never sent again. That matters when
 * the coordinator restarted too: it keeps only committed ids, so walking again from attempt 0, or
 * planning the recorded attempt anew, could commit a second attempt beside one that was still in flight
 * (the unit test {@code SpeculatorTest} reproduces that double commit against the earlier design).
 *
 * <p>A record that fails may have taken (the insert committed, its reply lost), and a recorded speculation
 * is carried on with, so the caller is answered 503 ("nothing was done") only once the mirror has made sure
 * it was not recorded and never will be; recorded after all, it goes on (202); not known, 504 with the id,
 * and the mirror takes the id over itself on a later refresh. Whoever claims an id recorded but not live in
 * this process (recovery, that refresh, a client's retry) reads its row again and resumes it if undecided:
 * the claim in {@link io.presage.speculate.SpeculationTable} makes that happen once.
 *
 * <p>For the same reason an outcome is shown (in {@code GET /v1/transactions/{id}}) only once it is
 * recorded. Shown first, a ROLLED_BACK whose record was lost would be resumed after a restart, its last
 * attempt sent again to a coordinator that has forgotten the abort, and could commit: one client told
 * "nothing was committed", the next "committed". Until the record takes, the speculation stays
 * {@code SPECULATIVE}, with a message saying why.
 */
package io.presage.speculate;
