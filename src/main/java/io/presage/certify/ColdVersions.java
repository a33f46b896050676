package io.presage.certify;

/**
 * The exact current version of a key whose certification metadata was evicted from the window
 * (or never loaded, after a restart). The coordinator answers it from its materialised store.
 *
 * <p>Why it exists: the design's "an evicted item's {@code Tw} is the low-water mark" is safe but not
 * live — a client that read a cold key at its real version {@code v < low-water} would be refused on
 * every retry. The certifier first tries its per-bucket floors (most cold reads are settled there
 * without a lookup) and asks this only when a floor cannot tell.
 */
@FunctionalInterface
public interface ColdVersions {
    long UNKNOWN = -1;

    /** The key's current committed version (0 if absent), or {@link #UNKNOWN}. */
    long currentVersion(String key);

    /** No store behind the certifier: ambiguous cold reads abort ({@code HISTORY_TOO_SHORT}), which is safe. */
    ColdVersions NONE = key -> UNKNOWN;
}
