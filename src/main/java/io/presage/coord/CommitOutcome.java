package io.presage.coord;

import java.util.List;

import io.presage.certify.AbortReason;

/** What a client is told about its transaction. */
public sealed interface CommitOutcome {

    /** In the log (acknowledged by JetStream): durable. {@code sequence} is its log message. */
    record Committed(long timestamp, boolean adjusted, long sequence) implements CommitOutcome {
    }

    record Aborted(AbortReason reason, List<String> conflicts) implements CommitOutcome {
    }

    /** Not committed; retrying is safe (with an id, exactly-once). */
    record Unavailable(String why) implements CommitOutcome {
    }
}
