/**
 * The coordinator: certification wired to the log.
 *
 * <h2>The commit path</h2>
 * HTTP thread → {@link io.presage.certify.CertifierLoop} (single writer, lock-free queue) →
 * {@link io.presage.coord.GroupCommit} (many transactions per log message) → JetStream append with
 * {@code Nats-Msg-Id} and {@code Nats-Expected-Last-Sequence} → ack → the commit's values go into
 * {@link io.presage.coord.RecentWrites} → the client hears COMMITTED. The JetStream ack is the
 * commit point: nothing is acknowledged before it, and nothing acknowledged can be lost, because it
 * is in the replicated log before anyone is told.
 *
 * <h2>How many transactions a message carries</h2>
 * Every log message costs the same wherever it goes (publish and ack, JetStream storing it, each
 * applier fetching and acknowledging it), whatever it carries. Group commit therefore spaces
 * messages at least {@code presage.group-commit.min-interval} apart and bounds those in flight
 * ({@code max-inflight}): while commits arrive in company (the last message carried at least
 * {@code min-interval-after} of them), a commit that arrives sooner waits, at most one interval, and
 * goes out with everything committed meanwhile. Batches grow with the load; a lone commit, or one
 * after a quiet spell, goes out at once. The loop thread sleeps no longer than the interval's end
 * ({@link io.presage.certify.CertifierLoop.BatchHandler#tick}), so no timer thread is involved.
 *
 * <h2>When an append fails</h2>
 * The certifier keeps an undo log. A failed append rolls certification back to just before that
 * message (which also takes back everything certified after it), its clients and every later one
 * get 503, and nothing is published until all appends in flight have settled. Then the stream's
 * last sequence is compared with what the coordinator knows; if they differ (an append whose
 * outcome was unknown did land, or another coordinator wrote — fencing refused us), the certifier
 * is rebuilt from the log. An append that timed out is first retried unchanged: JetStream checks
 * the message id before the expected sequence, so the retry learns whether the first one landed.
 *
 * <h2>Reads</h2>
 * A read sees every acknowledged commit: recent values stay in memory until the node's applier has
 * made their log sequence durable in PostgreSQL; a read takes the newer of memory and the store.
 * Batch reads answer at one log position (see {@link io.presage.coord.RecentWrites}). The applier
 * can apply a message before its publisher handles the ack, so memory never answers with a version
 * at or before the applied position: the store holds it, or a newer one.
 *
 * <h2>Idempotency ids</h2>
 * An id this process remembers is answered from memory ({@link io.presage.coord.IdempotencyCache}).
 * Any other id may have committed before a restart, so the store is asked first; concurrent askers
 * share one query ({@link io.presage.coord.IdLookups}), and no answer within the commit timeout
 * means 503, never a commit whose id might already be taken.
 *
 * <p>Ids share one namespace: procedure call {@code x} commits as one of its attempts {@code x#0..x#7},
 * and a plain transaction {@code x}, or any attempt of {@code x}, is answered by the commit the call or
 * a plain {@code x} made first. Memory is asked for all nine ids, the store for the call's id (which
 * holds a committed attempt too). Two sides running at once each claim their own id, then look at the
 * other's claims; the plain transaction yields to an attempt it sees, the attempt waits for a plain
 * transaction it sees, so at most one commits and neither waits on the other
 * ({@code CoordinatorEngine.rivalClaim}).
 *
 * <h2>Procedures</h2>
 * A procedure runs at the coordinator as one optimistic transaction: read its keys at the read
 * position, plan, certify with the versions read. Alone, optimism loses to itself on a hot key: a
 * commit in flight is not readable until its ack, so concurrent calls read the same version and all
 * but one lose certification, again and again. So calls on the same keys take turns
 * ({@link io.presage.coord.KeyTurns}) before they read, and an attempt that loses anyway (to a
 * client's transaction or a PUT) waits until reads see past the position it read at before the next
 * one. The certifier is unchanged and still lock-free; the queue is in front of it, per key, and
 * empty when calls touch different keys.
 *
 * <h2>Recovery</h2>
 * On start, and after a rebuild: the store's applied sequence, the log replayed from there into
 * the certifier (writes exactly, reads conservatively) and into recent writes; until then writes
 * get 503 and readiness is down. The replay holds no more unapplied values than commits may (it waits
 * for the applier), and a message it cannot decode, or one the applier parked, stops it until an
 * operator has dealt with that message: the certifier cannot know what it wrote.
 */
package io.presage.coord;
