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

    /**
     * Not known in time: the log did not confirm the append (it may still land: a paused server acts on
     * what its socket holds when it resumes), or the answer took longer than the commit timeout. 504:
     * unlike a 503, a retry without an id may commit twice; under the same id it commits once.
     */
    record Unknown(String why) implements CommitOutcome {
    }
}
