package io.presage.log;

/**
 * A log message that cannot be turned into a {@link LogBatch}: not a Presage batch, damaged, or
 * written in a format newer than this reader understands. The message says which, with the
 * offending value, so that an operator can tell corruption from a consumer that needs upgrading.
 */
public final class LogDecodeException extends Exception {
    private static final long serialVersionUID = 1L;

    public LogDecodeException(String message) {
        super(message);
    }

    public LogDecodeException(String message, Throwable cause) {
        super(message, cause);
    }
}
