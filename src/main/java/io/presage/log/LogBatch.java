package io.presage.log;

import java.util.List;
import java.util.Objects;

/**
 * One log message: committed transactions the coordinator appended together. Field meanings are
 * those of {@code Batch} in {@code src/main/proto/presage/log/v1/log.proto}. Encoded and decoded
 * by {@link BatchCodec}.
 *
 * @param formatVersion version of the batch semantics; {@link BatchCodec#FORMAT_VERSION} for new ones
 * @param coordinatorId the coordinator node that wrote the batch, never null
 * @param epoch the writing coordinator's leadership epoch (unsigned 64-bit)
 * @param partition the certification partition (unsigned 32-bit)
 * @param batchId the batch's sequence number (unsigned 64-bit)
 * @param txns the committed transactions, in commit order
 */
public record LogBatch(
        int formatVersion,
        String coordinatorId,
        long epoch,
        int partition,
        long batchId,
        List<LogTxn> txns) {

    public LogBatch {
        Objects.requireNonNull(coordinatorId, "coordinatorId");
        txns = List.copyOf(txns);
    }

    /** A batch in the current format version. */
    public static LogBatch of(String coordinatorId, long epoch, int partition, long batchId, List<LogTxn> txns) {
        return new LogBatch(BatchCodec.FORMAT_VERSION, coordinatorId, epoch, partition, batchId, txns);
    }
}
