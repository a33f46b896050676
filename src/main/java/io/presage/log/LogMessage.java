package io.presage.log;

/**
 * One entry of the log as read back: the stream sequence JetStream gave it, the subject it was
 * appended to ({@code mirror.log.<partition>}), the opaque batch bytes, the server's receive time, and
 * how many messages of the stream were still to be delivered after it when it was delivered
 * ({@code pending}: 0 means the reader had reached the end of the log; -1 unknown).
 * {@code data} is the array the client received, not a copy; treat it as read-only.
 */
public record LogMessage(long sequence, String subject, byte[] data, long timestampMillis, long pending) {

    /** A message whose pending count is unknown. */
    public LogMessage(long sequence, String subject, byte[] data, long timestampMillis) {
        this(sequence, subject, data, timestampMillis, -1);
    }
}
