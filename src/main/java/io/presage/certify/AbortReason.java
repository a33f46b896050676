package io.presage.certify;

/** Why certification refused a transaction. Names are part of the public API ({@code reason}). */
public enum AbortReason {
    /** A read is not current and (basic policy) no past placement is attempted, or (adaptive) the
     *  reads' validity intervals do not overlap. */
    STALE_READ,
    /** A written key was read by a transaction committed at or after every timestamp at which this
     *  transaction's reads were valid. */
    WRITE_AFTER_READ,
    /** A written key was overwritten at or after every timestamp at which the reads were valid. */
    WRITE_AFTER_WRITE,
    /** A read version is older than the write history still held for that key. */
    HISTORY_TOO_SHORT,
    /** A read names a version that was never written (or was rolled back). */
    UNKNOWN_VERSION,
    /** A key is held by a multi-partition transaction still being decided. */
    PENDING_CONFLICT,
    /** Every timestamp in the valid interval is already taken. */
    NO_FREE_TIMESTAMP
}
