package io.presage.log;

/**
 * JetStream refused an append because the stream's last sequence was not the one the writer expected
 * (API error 10071, "wrong last sequence"): another writer appended since this one last knew the
 * log's end. Nothing was appended. A coordinator receiving this has been superseded (or raced) and
 * must not append again before it has re-read the log up to {@link #actualLastSequence()}.
 */
public final class LogFencedException extends LogException {

    private static final long serialVersionUID = 1L;

    private final long expectedLastSequence;
    private final long actualLastSequence;

    public LogFencedException(long expectedLastSequence, long actualLastSequence, Throwable cause) {
        super("log fenced: expected last sequence " + expectedLastSequence + " but the stream is at "
                + (actualLastSequence < 0 ? "an unknown sequence" : Long.toString(actualLastSequence)), cause);
        this.expectedLastSequence = expectedLastSequence;
        this.actualLastSequence = actualLastSequence;
    }

    public long expectedLastSequence() {
        return expectedLastSequence;
    }

    /** The stream's last sequence as the server reported it, or -1 if the reply did not say. */
    public long actualLastSequence() {
        return actualLastSequence;
    }
}
