package io.presage.coord;

/**
 * Taken before an idempotency id is looked up (in memory, then in the store), and checked when the id
 * is claimed for a commit: the lookup's "committed nowhere" holds only if, meanwhile, the coordinator
 * has not rebuilt its state ({@code rebuilds}, which forgets the ids in memory) and has not forgotten
 * an id committed after the store's position {@code applied} (which the store query may have missed).
 * Either way the commit is refused as unavailable, and a retry under the same id looks again.
 *
 * @param rebuilds the coordinator's recoveries begun, when the lookup began
 * @param applied the log sequence its store had applied then
 */
public record IdLookupStamp(long rebuilds, long applied) {
}
