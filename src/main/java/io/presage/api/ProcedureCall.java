package io.presage.api;

import com.fasterxml.jackson.databind.JsonNode;

import io.presage.proc.Procedure;
import io.presage.proc.ProcedureException;
import io.presage.proc.Procedures;

/** A procedure call checked the same way by both roles before it runs or is forwarded. */
public record ProcedureCall(Procedure procedure, JsonNode args) {

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
        if (id != null && (id.isEmpty() || id.length() > 120)) {
            throw ApiException.badRequest("id must be 1 to 120 characters");
        }
        JsonNode args = parse.object(body, "the procedure's arguments");
        for (String k : p.keys(args)) {
            parse.key(k);
        }
        return new ProcedureCall(p, args);
    }
}
