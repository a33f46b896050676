package io.presage.certify;

/**
 * The master of one partition, as the two-phase protocol sees it. In this process it is a
 * {@link PartitionCertifier} called directly; a master in another process implements the same three
 * calls over the network. Calls for one partition come from a single thread.
 */
public interface PartitionMaster {
    /**
     * Phase one: the interval in which this partition's part of transaction {@code txnId} could
     * commit; unless the vote is refused, its keys are held until {@link #commit} or {@link #abort}.
     */
    Vote prepare(long txnId, TxnRequest slice, Policy policy);

    /** Phase two: commit at {@code timestamp}, which lies in the vote's interval. */
    void commit(long txnId, long timestamp);

    /** Phase two: forget the transaction and release its keys. */
    void abort(long txnId);
}
