package io.presage.speculate;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

/** The coordinator's answer to one submitted attempt, as far as a speculation cares. */
public sealed interface CoordinatorAnswer {

    /**
     * 200: in the log at {@code sequence} of log stream {@code stream} (its identity as its token names it;
     * 0: the token names none). {@code result}: the procedure result the coordinator keeps with the id, when
     * its answer carries one ({@code GET /v1/transactions/{id}} does); else null.
     */
    record Committed(long timestamp, boolean adjusted, long sequence, long stream, JsonNode result)
            implements CoordinatorAnswer {
        public Committed(long timestamp, boolean adjusted, long sequence) {
            this(timestamp, adjusted, sequence, 0, null);
        }

        public Committed(long timestamp, boolean adjusted, long sequence, JsonNode result) {
            this(timestamp, adjusted, sequence, 0, result);
        }
    }

    /** 409: certification (or the procedure) refused it; final for this attempt. */
    record Aborted(String reason, List<String> conflicts, String message) implements CoordinatorAnswer {
    }

    /** Any other definite refusal (400, 413, ...): the attempt can never commit. */
    record Refused(int status, String error, String message) implements CoordinatorAnswer {
    }

    /** 503, 504, no answer: the outcome is unknown, so the same attempt (same id) is sent again. */
    record Unavailable(String message) implements CoordinatorAnswer {
    }
}
