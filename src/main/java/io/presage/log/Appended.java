package io.presage.log;

/**
 * A successful append: the stream sequence of the batch. {@code duplicate} means JetStream had
 * already stored a message with the same {@code Nats-Msg-Id} within the duplicate window, and
 * {@code sequence} is that earlier message's; nothing new was appended. A coordinator retrying an
 * append whose outcome it did not learn gets exactly this answer when the first attempt did land.
 */
public record Appended(long sequence, boolean duplicate) {
}
