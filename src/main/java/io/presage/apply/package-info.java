/**
 * The apply path, the same on every node: the log → a node's own PostgreSQL.
 *
 * <h2>Invariants</h2>
 * <ol>
 * <li><b>Log order.</b> Messages are applied in stream-sequence order. The durable consumer's position
 *     is only a hint; the database's {@code apply_state.last_seq} is the truth, and a gap between
 *     them is filled by reading the log by sequence. A chunk moves {@code last_seq} only from just before
 *     its first message: a database that lost commits under a running applier (restored, failed over)
 *     refuses the chunk, and the applier reads the position again rather than apply over the hole.</li>
 * <li><b>Atomic and durable together.</b> One database transaction writes a chunk of messages' items,
 *     their idempotency ids, any dead letters and the new {@code last_seq}. The consumer is acked only
 *     after that commit. A crash anywhere leaves either all of it or none of it.</li>
 * <li><b>Idempotent.</b> A message at or below {@code last_seq} is skipped, and an item is only replaced
 *     by a newer version, so a redelivery or replay changes nothing.</li>
 * <li><b>Atomic visibility.</b> A transaction's writes travel in one log message and a message is never
 *     split across database transactions, so a reader sees all of a transaction or none of it, and every
 *     state a reader can see is a prefix of the log.</li>
 * <li><b>Nothing silently skipped.</b> A message that cannot be decoded is parked: published on the
 *     dead-letter subject, recorded in {@code dead_letters} in the transaction that moves past it,
 *     counted ({@code presage_dead_letters_total}) and reported by readiness.</li>
 * </ol>
 * Deletions are tombstones ({@code item_value} null) that keep the deletion's version, so a
 * transaction that read "absent" after a delete names a version certification can check.
 */
package io.presage.apply;
