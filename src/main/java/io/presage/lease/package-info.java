/**
 * The active coordinator's lease (DESIGN §10), so that a standby coordinator can take over from a
 * failed one without an operator. The model, and why safety does not rest on it (fencing does), is
 * in {@link io.presage.lease.CoordinatorLease}; how a coordinator waits for it, serves while it holds
 * it and stops when it loses it is in {@code io.presage.coord.CoordinatorEngine#standBy}.
 */
package io.presage.lease;
