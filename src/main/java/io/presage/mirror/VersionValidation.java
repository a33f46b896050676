package io.presage.mirror;

import java.util.Map;

/**
 * Validation of an incoming committed version against the mirror's local version of the key
 * (DESIGN §5), by vector clock: which of the two includes the other.
 *
 * <ul>
 * <li>Incoming includes local (or nothing local): apply. For a local speculative write this is its
 *     confirmation: the committed log now carries it (or something that saw it).</li>
 * <li>Local already includes incoming: skip; the store has it or something newer (a redelivery).</li>
 * <li>Concurrent with a local <em>speculative</em> write: the committed version wins, the speculative
 *     write's transaction must be rolled back (and re-executed, in the speculation issue).</li>
 * <li>Concurrent with a local <em>committed</em> version cannot happen with one coordinator ordering
 *     every commit; should it, the commit timestamp (the serial order) decides.</li>
 * </ul>
 * Among committed versions the commit timestamp is the authority, as in the store (an upsert only
 * replaces an older version): a committed local version at or above the incoming one is never
 * replaced, whatever the clocks say.
 */
public final class VersionValidation {
    private VersionValidation() {
    }

    public enum Verdict { APPLY, SKIP, APPLY_AND_ROLL_BACK_LOCAL }

    /** The mirror's current version of a key: committed (from its store) or its own speculative write. */
    public record Local(long version, Map<String, Long> vclock, boolean speculative) {
    }

    public enum Order { EQUAL, BEFORE, AFTER, CONCURRENT }

    public static Verdict decide(Local local, long version, Map<String, Long> vclock) {
        if (local == null) {
            return Verdict.APPLY;
        }
        if (!local.speculative() && version <= local.version()) {
            return Verdict.SKIP;
        }
        return switch (compare(vclock, local.vclock())) {
            case AFTER -> Verdict.APPLY;
            case EQUAL -> local.speculative() ? Verdict.APPLY : Verdict.SKIP;
            case BEFORE -> Verdict.SKIP;
            case CONCURRENT -> local.speculative() ? Verdict.APPLY_AND_ROLL_BACK_LOCAL
                    : version > local.version() ? Verdict.APPLY : Verdict.SKIP;
        };
    }

    /** How clock {@code a} relates to {@code b}: AFTER when {@code a} includes {@code b} and more. */
    public static Order compare(Map<String, Long> a, Map<String, Long> b) {
        boolean aAhead = false;
        boolean bAhead = false;
        for (Map.Entry<String, Long> e : a.entrySet()) {
            long bv = b.getOrDefault(e.getKey(), 0L);
            if (e.getValue() > bv) {
                aAhead = true;
            } else if (e.getValue() < bv) {
                bAhead = true;
            }
        }
        for (Map.Entry<String, Long> e : b.entrySet()) {
            if (!a.containsKey(e.getKey()) && e.getValue() > 0) {
                bAhead = true;
            }
        }
        if (aAhead && bAhead) {
            return Order.CONCURRENT;
        }
        return aAhead ? Order.AFTER : bAhead ? Order.BEFORE : Order.EQUAL;
    }
}
