package io.presage.log;

/**
 * One entry of the log as read back: the stream sequence JetStream gave it, the subject it was
 * appended to ({@code mirror.log.<partition>}), the opaque batch bytes, and the server's receive time.
 * {@code data} is the array the client received, not a copy; treat it as read-only.
 */
public record LogMessage(long sequence, String subject, byte[] data, long timestampMillis) {
}
