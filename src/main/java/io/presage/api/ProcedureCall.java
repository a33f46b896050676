package io.presage.api;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;

import io.presage.proc.Attempts;
import io.presage.proc.Procedure;
import io.presage.proc.ProcedureException;
import io.presage.proc.Procedures;

/**
 * A procedure call checked the same way by both roles before it runs or is forwarded; {@code keys} are
 * the keys it reads, from its arguments, so that nothing after the check computes them again. {@code id}
 * is the call's idempotency id (null: none), from {@code ?id=} or from an {@code "id"} string at the top
 * of the argument object, as a transaction's body carries it.
 */
public record ProcedureCall(Procedure procedure, JsonNode args, List<String> keys, String id) {

    /**
     * 404 for an unknown name, 400 for a bad id or arguments that are not a JSON object or name bad keys
     * ({@link ApiException}); a {@link ProcedureException} from the procedure's own argument check is
     * left to the caller.
     */
    public static ProcedureCall check(RequestParser parse, String name, String queryId, byte[] body) {
        Procedure p = Procedures.get(name);
        if (p == null) {
            throw ApiException.notFound("no procedure named '" + name + "' (transfer, increment)");
        }
        JsonNode args = parse.object(body, "the procedure's arguments");
        String id = idOf(queryId, args);
        if (id != null) {
            Keys.checkId(id, RequestParser.MAX_PROCEDURE_ID_CHARS, "id");
            if (Attempts.callOf(id) != null) {
                // Call x commits as x#0..x#7, also kept under x: a call "x#1" would be answered by call x's
                // attempt 1 (and its own attempts kept under "x#1" answer call x), though it never ran.
                throw ApiException.badRequest("a procedure call's id must not end in '#' and a digit 0-7: '" + id
                        + "' is the id of an attempt of call '" + Attempts.callOf(id) + "'");
            }
        }
        List<String> keys = p.keys(args);
        for (String k : keys) {
            parse.key(k);
        }
        return new ProcedureCall(p, args, keys, id);
    }

    /**
     * The call's id: {@code ?id=}, or the arguments' {@code "id"}. API.md gives procedures "the same answers"
     * as transactions, whose id travels in the body: a client that put it there had it ignored, and its
     * retry ran the call twice.
     */
    private static String idOf(String queryId, JsonNode args) {
        JsonNode inBody = args.get("id");
        if (inBody == null) {
            return queryId;
        }
        if (!inBody.isTextual()) {
            throw ApiException.badRequest("\"id\", the call's idempotency id, must be a string");
        }
        if (queryId != null && !queryId.equals(inBody.textValue())) {
            throw ApiException.badRequest("two different ids: ?id= and the arguments' \"id\" (give one)");
        }
        return inBody.textValue();
    }

    /** The 400 for a procedure's refusal of its arguments: {@code INVALID_KEY} for a bad key, else {@code BAD_REQUEST}. */
    public static ApiException badInput(ProcedureException e) {
        return e.isInvalidKey() ? ApiException.invalidKey(e.getMessage()) : ApiException.badRequest(e.getMessage());
    }
}
