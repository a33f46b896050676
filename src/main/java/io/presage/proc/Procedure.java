package io.presage.proc;

import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A named, deterministic transaction: given its arguments and the current values of the keys it
 * names, it decides what to write. Determinism is what lets any node run it and re-run it on newer
 * data after a conflict.
 */
public interface Procedure {

    /** The keys it reads, from its arguments alone; 400 (via {@link ProcedureException}) when they are bad. */
    List<String> keys(JsonNode args);

    /**
     * The writes (key → new JSON value) and a result, from the values read (a missing key maps to
     * null). Throw {@link ProcedureException} to refuse (e.g. insufficient funds).
     */
    Plan plan(JsonNode args, Map<String, JsonNode> values);

    record Plan(Map<String, JsonNode> writes, JsonNode result) {
    }
}
