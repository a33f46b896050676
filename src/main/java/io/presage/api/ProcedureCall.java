package io.presage.api;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import io.presage.proc.Attempts;
import io.presage.proc.Procedure;
import io.presage.proc.ProcedureException;
import io.presage.proc.Procedures;

/**
 * A procedure call checked the same way by both roles before it runs or is forwarded; {@code keys} are
 * the keys it reads, from its arguments, so that nothing after the check computes them again.
 */
public record ProcedureCall(Procedure procedure, JsonNode args, List<String> keys) {

    /**
     * 404 for an unknown name, 400 for a bad id or arguments that are not a JSON object or name bad keys
     * ({@link ApiException}); a {@link ProcedureException} from the procedure's own argument check is
     * left to the caller.
     */
    public static ProcedureCall check(RequestParser parse, String name, String id, byte[] body) {
        Procedure p = Procedures.get(name);
        if (p == null) {
            throw ApiException.notFound("no procedure named '" + name + "' (transfer, increment)");
        }
        if (id != null) {
            Keys.checkId(id, RequestParser.MAX_PROCEDURE_ID_CHARS, "id");
            if (Attempts.callOf(id) != null) {
                // Call x commits as x#0..x#7, also kept under x: a call "x#1" would be answered by call x's
                // attempt 1 (and its own attempts kept under "x#1" answer call x), though it never ran.
                throw ApiException.badRequest("a procedure call's id must not end in '#' and a digit 0-7: '" + id
                        + "' is the id of an attempt of call '" + Attempts.callOf(id) + "'");
            }
        }
        JsonNode args = parse.object(body, "the procedure's arguments");
        List<String> keys = p.keys(args);
        for (String k : keys) {
            parse.key(k);
        }
        return new ProcedureCall(p, args, keys);
    }

    /** The 400 for a procedure's refusal of its arguments: {@code INVALID_KEY} for a bad key, else {@code BAD_REQUEST}. */
    public static ApiException badInput(ProcedureException e) {
        return e.isInvalidKey() ? ApiException.invalidKey(e.getMessage()) : ApiException.badRequest(e.getMessage());
    }
}
