package io.presage.log;

/**
 * The log could not be reached or did not answer in time: not connected, timed out, no responders
 * (JetStream or the stream missing), or another I/O or server error.
 *
 * <p>{@link #mayHaveBeenAppended()} tells an append's caller whether the outcome is unknown. It is
 * false when the message provably never reached a stream (rejected before sending, or refused by the
 * server); true after a timeout or a broken connection, when the batch may be stored and may even
 * become visible later. The safe way to resolve an unknown outcome is to retry with the same
 * {@code msgId} and expected last sequence: within the duplicate window JetStream answers with the
 * original sequence ({@link Appended#duplicate()}) if the first attempt landed, appends it if not, and
 * fences it if somebody else appended in between.
 */
public final class LogUnavailableException extends LogException {

    private static final long serialVersionUID = 1L;

    private final boolean mayHaveBeenAppended;

    public LogUnavailableException(String message, boolean mayHaveBeenAppended, Throwable cause) {
        super(message, cause);
        this.mayHaveBeenAppended = mayHaveBeenAppended;
    }

    public boolean mayHaveBeenAppended() {
        return mayHaveBeenAppended;
    }
}
