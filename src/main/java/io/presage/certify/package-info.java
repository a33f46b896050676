/**
 * Timestamp-history certification: the coordinator's concurrency control, in plain Java.
 *
 * <h2>The model</h2>
 * A transaction arrives as a <em>read set</em> (key, version it read) and a <em>write set</em>. A
 * version is the commit timestamp of the transaction that wrote it ({@code 0}: absent). Timestamps
 * come from a hybrid logical clock ({@link io.presage.certify.Hlc}) that leaves 255 unused values
 * between consecutive fresh timestamps. Per recently written key the certifier keeps {@code Tr}
 * (the largest commit timestamp of a transaction that read it) and the last {@code k} write
 * timestamps, the newest being {@code Tw}.
 *
 * <h2>The rule (DESIGN §3)</h2>
 * <ol>
 * <li>A read of version {@code v} is valid from {@code v} up to the next write of that key:
 *     {@code [v, next(v))}, or {@code [v, ∞)} when {@code v == Tw}. If {@code v} is older than
 *     the history held: {@code HISTORY_TOO_SHORT}. Version {@code 0} (the key absent) is a version
 *     like the others: when the key's whole history is held (its floor is 0), a read of absence is
 *     valid from 0 up to the key's first write.</li>
 * <li>The transaction may commit at any {@code T} inside every read's interval and above
 *     {@code Tr(w)} and {@code Tw(w)} of every key {@code w} it writes.</li>
 * <li>All reads current: {@code T} is a fresh timestamp. Otherwise (policy {@code adaptive}) the
 *     smallest free {@code T} in that open interval, a value in a gap of the clock: the
 *     transaction is placed in the past, {@code adjusted}. No such {@code T}: abort, naming the
 *     keys in the way. Policy {@code basic} aborts as soon as any read is not current.</li>
 * <li>On commit, {@code Tr(r) = max(Tr(r), T)} for every read and {@code T} joins every written
 *     key's history.</li>
 * </ol>
 *
 * <h2>Why the result is serializable</h2>
 * The serial order is timestamp order. A committed transaction X at {@code T} read, for each key,
 * the version that was current at {@code T} (its read was valid at {@code T}: no write of that key
 * between the version read and {@code T}). Could a later-certified transaction Y break that by
 * writing a key X read at a timestamp below {@code T}? Y must be placed above {@code Tr} of what it
 * writes, which is now at least {@code T}. Could Y write a key X wrote at a timestamp below
 * {@code T}? Y must be above {@code Tw}, which is at least {@code T}. So replaying every committed
 * transaction in timestamp order reproduces exactly the versions each read and the final state —
 * which is what {@code SerializabilityProperties} checks on random concurrent histories, and what
 * it catches when the {@code Tr} check is switched off.
 *
 * <h2>Bounded memory, conservatively</h2>
 * Only {@code windowKeys} keys per partition keep exact metadata ({@link io.presage.certify.KeyWindow}).
 * An evicted key's {@code Tr} and {@code Tw} are folded into per-bucket floors — upper bounds
 * shared by the keys of a bucket — so every decision made without the exact values is the same or
 * more cautious, never wrong. The design's single low-water mark is the one-bucket case; it is
 * safe but would refuse, on every retry, a transaction that read a cold key at its real (old)
 * version. With many buckets most cold reads are settled exactly ({@code v == floor}); the rest
 * ask the store for the key's current version ({@link io.presage.certify.ColdVersions}), which is
 * exact because a key leaves the window only after its last write did.
 *
 * <h2>Concurrency</h2>
 * {@link io.presage.certify.Certifier} is single-writer, like an LMAX business-logic processor: one
 * thread owns all certification state, so the hot path has no locks, no CAS on shared state (the
 * clock's CAS is uncontended) and no allocation beyond the decision. Callers on any thread reach it
 * through {@link io.presage.certify.CertifierLoop}, a lock-free many-to-one queue drained in batches.
 *
 * <h2>Partitions</h2>
 * Keys hash to partitions, each with its own window and floors and its own master
 * ({@link io.presage.certify.PartitionMaster}). A transaction within one partition is certified in
 * one step. One spanning several is certified in two phases: each master votes the interval in
 * which its part could commit and holds the keys (so the interval stays true); one {@code T} is
 * chosen in the intersection, or the transaction aborts everywhere; every master then records it.
 * In this process all masters run on the certifier thread; a master in another process would
 * implement the same three calls.
 *
 * <h2>Undo and recovery</h2>
 * With an undo log, every change can be reversed newest-first, so the coordinator can take back a
 * batch whose log append failed. After a restart the certifier is rebuilt from the log: writes
 * are replayed exactly; read sets are not logged, so every {@code Tr} becomes the log's high-water
 * mark — conservative.
 */
package io.presage.certify;
