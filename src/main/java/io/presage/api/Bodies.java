package io.presage.api;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.util.RawValue;

import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import io.presage.apply.StoredItem;
import io.presage.coord.CommitOutcome;
import io.presage.coord.Tokens;

/** The API's response bodies, built in one place so both roles answer alike. */
public final class Bodies {
    /**
     * With its charset already given, Quarkus REST does not derive a new media type per response
     * (EncodedMediaType's withCharset showed up at 4 % of the coordinator's CPU under commit load).
     */
    public static final MediaType JSON = MediaType.APPLICATION_JSON_TYPE.withCharset("UTF-8");
    // Characters outside the BMP as UTF-8, as in the values (ExactNumbers), not as escaped surrogates.
    private static final ObjectWriter WRITER = new ObjectMapper().writer().with(JsonWriteFeature.COMBINE_UNICODE_SURROGATES_IN_UTF8);

    private Bodies() {
    }

    public static Response ok(Object body) {
        return json(200, body);
    }

    /**
     * The body is serialised here, once, with one shared writer: the framework then only copies
     * bytes, instead of looking up a writer for the entity's class and media type on every response.
     */
    public static Response json(int status, Object body) {
        byte[] bytes;
        try {
            bytes = WRITER.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("response body cannot be written as JSON", e);
        }
        return Response.status(status).type(JSON).entity(bytes).build();
    }

    /** 200 with the item, or 404 NOT_FOUND with version 0 (and {@code deletedVersion} if it was deleted). */
    public static Response item(String key, StoredItem item, double confidence, long position, Map<String, Object> extra) {
        return item(key, item, confidence, Tokens.of(position), extra);
    }

    /** {@link #item(String, StoredItem, double, long, Map)} with its token given (one of another log stream). */
    public static Response item(String key, StoredItem item, double confidence, String token, Map<String, Object> extra) {
        Map<String, Object> m = itemFields(key, item, confidence);
        m.put("token", token);
        m.putAll(extra);
        if (item == null || item.deleted()) {
            Map<String, Object> nf = new LinkedHashMap<>();
            nf.put("error", "NOT_FOUND");
            nf.put("message", item == null ? "no such key" : "the key was deleted");
            nf.putAll(m);
            return json(404, nf);
        }
        return ok(m);
    }

    public static Map<String, Object> itemFields(String key, StoredItem item, double confidence) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("key", key);
        boolean found = item != null && !item.deleted();
        if (found) {
            m.put("value", new RawValue(RequestParser.utf8(item.valueJson())));
        }
        // API v1: version 0 means the key does not exist, also once deleted. The deletion's own
        // version goes in a field of its own; a transaction that read the key as absent sends 0,
        // which the coordinator certifies as a read of that deletion.
        m.put("version", found ? item.version() : 0L);
        m.put("vclock", item == null ? Map.of() : item.vclock());
        m.put("confidence", confidence);
        if (!found) {
            m.put("found", false);
            if (item != null) {
                m.put("deletedVersion", item.version());
            }
        }
        return m;
    }

    /** The answer to a commit: 200 COMMITTED, 409 ABORTED or 503 UNAVAILABLE. */
    public static Response outcome(CommitOutcome o, Map<String, Object> extra) {
        if (o instanceof CommitOutcome.Committed c) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("status", "COMMITTED");
            m.put("timestamp", c.timestamp());
            m.put("adjusted", c.adjusted());
            m.put("token", Tokens.of(c.sequence()));
            m.putAll(extra);
            return ok(m);
        }
        if (o instanceof CommitOutcome.Aborted a) {
            return aborted(a.reason().name(), a.conflicts(), "certification failed: " + a.reason(), extra);
        }
        if (o instanceof CommitOutcome.Unknown u) {
            return json(504, Map.of("error", "TIMEOUT", "message", u.why()));
        }
        CommitOutcome.Unavailable u = (CommitOutcome.Unavailable) o;
        return json(503, Map.of("error", "UNAVAILABLE", "message", u.why()));
    }

    public static Response aborted(String reason, List<String> conflicts, String message, Map<String, Object> extra) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", "ABORTED");
        m.put("status", "ABORTED");
        m.put("reason", reason);
        m.put("conflicts", conflicts);
        m.put("message", message);
        m.putAll(extra);
        return json(409, m);
    }
}
