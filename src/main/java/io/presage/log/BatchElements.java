package io.presage.log;

import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.WireFormat;
import io.presage.log.proto.Batch;
import io.presage.log.proto.Txn;

import java.io.IOException;

/**
 * The number of objects a batch decodes into, bounded by {@link BatchCodec#MAX_READ_ELEMENTS}.
 *
 * <p>Why: the payload's byte limit does not bound the heap its decoding takes. An empty transaction,
 * write or read key costs two bytes of protobuf and a few hundred bytes of objects, and LZ4 turns
 * 263 KB of zeros-like input into a 64 MiB payload: 33 million transactions, an
 * {@code OutOfMemoryError} that no decode failure catches, so the applier retried the message for ever
 * instead of parking it. A count taken over the raw bytes before protobuf builds anything refuses such
 * a message as malformed, at the cost of reading each transaction's field tags once more.
 *
 * <p>An element is a transaction, a write, a read key or a vector-clock entry: what the model holds
 * one or more objects for. Scalars cost no objects, and unknown fields are discarded by the parser.
 */
public final class BatchElements {
    private static final int TXNS = tag(Batch.TXNS_FIELD_NUMBER);
    private static final int WRITES = tag(Txn.WRITES_FIELD_NUMBER);
    private static final int VCLOCK = tag(Txn.VCLOCK_FIELD_NUMBER);
    private static final int READ_KEYS = tag(Txn.READ_KEYS_FIELD_NUMBER);

    private BatchElements() {
    }

    /** Elements of a batch about to be written. */
    static long of(LogBatch batch) {
        long n = 0;
        for (LogTxn t : batch.txns()) {
            n += of(t);
        }
        return n;
    }

    /** Elements one transaction adds to its batch. */
    static long of(LogTxn t) {
        return 1L + t.writes().size() + t.readKeys().size() + t.vclock().size();
    }

    /**
     * Refuses a payload that would decode into more than {@link BatchCodec#MAX_READ_ELEMENTS} elements,
     * without building any of them.
     *
     * @param payload holds the uncompressed protobuf {@code Batch} at {@code offset}, {@code length} bytes
     * @return the elements counted (those of a batch protobuf would parse, when it parses)
     * @throws LogDecodeException over the bound, or if the bytes are not protobuf at all
     */
    public static long check(byte[] payload, int offset, int length) throws LogDecodeException {
        CodedInputStream in = CodedInputStream.newInstance(payload, offset, length);
        long n = 0;
        try {
            for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
                if (tag != TXNS) {
                    if (!in.skipField(tag)) {
                        break; // an end-group tag: the parse that follows refuses it
                    }
                    continue;
                }
                int limit = in.pushLimit(in.readRawVarint32());
                n += 1 + countTxnElements(in);
                in.popLimit(limit);
                if (n > BatchCodec.MAX_READ_ELEMENTS) {
                    throw new LogDecodeException("batch holds more than " + BatchCodec.MAX_READ_ELEMENTS
                            + " elements (transactions, writes, read keys, vector-clock entries),"
                            + " where a coordinator writes at most " + BatchCodec.MAX_ELEMENTS
                            + " (an older one, more only with a group-commit.max-bytes over 2.8 MB)");
                }
            }
            return n;
        } catch (InvalidProtocolBufferException e) {
            throw new LogDecodeException("payload is not a valid presage.log.v1.Batch: " + e.getMessage(), e);
        } catch (IOException | RuntimeException e) { // as decode: be safe on hostile input
            throw new LogDecodeException("payload is not a valid presage.log.v1.Batch: " + e, e);
        }
    }

    /** Inside one {@code Txn}, up to its limit: its writes, vector-clock entries and read keys. */
    private static long countTxnElements(CodedInputStream in) throws IOException {
        long n = 0;
        for (int tag = in.readTag(); tag != 0; tag = in.readTag()) {
            if (tag == WRITES || tag == VCLOCK || tag == READ_KEYS) {
                n++;
            }
            if (!in.skipField(tag)) {
                break;
            }
        }
        return n;
    }

    private static int tag(int fieldNumber) {
        return fieldNumber << 3 | WireFormat.WIRETYPE_LENGTH_DELIMITED;
    }
}
