package io.presage.log;

/**
 * Base of the log's failures. Unchecked: appends report them through their future, and the other
 * operations are called from loops that treat every log failure alike (back off, retry).
 *
 * <p>No stack trace is captured: failures complete futures on client threads where the trace says
 * nothing, and a server outage must not turn every commit into an expensive exception.
 */
public class LogException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    public LogException(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
