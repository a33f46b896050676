package io.presage.mirror;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.apply.StoredItem;
import io.presage.coord.Tokens;
import io.presage.coord.TxnSpec;
import io.presage.speculate.CoordinatorAnswer;
import io.presage.speculate.Speculator;

/**
 * The coordinator as speculations see it: an attempt is an ordinary {@code POST /v1/transactions} with
 * its idempotency id, and "latest data" a reconciliation (batched with the mirror's strong reads).
 */
final class SpeculationCommits implements Speculator.Coordinator {
    private final CoordinatorClient client;
    private final ReconcileBatcher reconciler;
    private final ObjectMapper json;

    SpeculationCommits(CoordinatorClient client, ReconcileBatcher reconciler, ObjectMapper json) {
        this.client = client;
        this.reconciler = reconciler;
        this.json = json;
    }

    @Override
    public CompletableFuture<CoordinatorAnswer> commit(TxnSpec txn) {
        return client.send("POST", "/v1/transactions", body(txn)).thenApply(this::answer);
    }

    @Override
    public CompletableFuture<Speculator.Snapshot> latest(List<String> keys) {
        return reconciler.reconcile(keys).thenApply(r -> snapshot(keys, r.items(), json));
    }

    @Override
    public CompletableFuture<CoordinatorAnswer.Committed> committed(String id) {
        String path = "/v1/transactions/" + CoordinatorClient.pathSegment(id);
        return client.send("GET", path, null).thenApply(a -> {
            if (a.status() == 404) {
                return null;
            }
            if (answer(a) instanceof CoordinatorAnswer.Committed c) {
                return c;
            }
            throw new CoordinatorClient.Unreachable("the coordinator answered " + a.status() + " to GET " + path, null);
        });
    }

    /** Values and versions of {@code keys} from items read at one position (a missing item: absent). */
    static Speculator.Snapshot snapshot(List<String> keys, Map<String, StoredItem> items, ObjectMapper json) {
        Map<String, JsonNode> values = new HashMap<>();
        Map<String, Long> versions = new HashMap<>();
        for (String k : keys) {
            StoredItem i = items.get(k);
            versions.put(k, i == null ? 0L : i.version());
            values.put(k, i == null || i.deleted() ? null : tree(json, i.valueJson()));
        }
        return new Speculator.Snapshot(values, versions);
    }

    private static JsonNode tree(ObjectMapper json, byte[] valueJson) {
        try {
            return json.readTree(valueJson);
        } catch (IOException e) {
            throw new UncheckedIOException("a stored value is not JSON", e);
        }
    }

    /** The transaction as API v1 takes it; values are already JSON text, written as they are. */
    byte[] body(TxnSpec txn) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try (JsonGenerator g = json.getFactory().createGenerator(out)) {
            g.writeStartObject();
            g.writeStringField("id", txn.id());
            g.writeArrayFieldStart("reads");
            for (TxnSpec.Read r : txn.reads()) {
                g.writeStartObject();
                g.writeStringField("key", r.key());
                g.writeNumberField("version", r.version());
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeArrayFieldStart("writes");
            for (TxnSpec.Write w : txn.writes()) {
                g.writeStartObject();
                g.writeStringField("key", w.key());
                if (w.delete()) {
                    g.writeBooleanField("delete", true);
                } else {
                    g.writeFieldName("value");
                    g.writeRawValue(new String(w.valueJson(), StandardCharsets.UTF_8));
                }
                g.writeEndObject();
            }
            g.writeEndArray();
            if (txn.result() != null) {
                g.writeFieldName("result"); // a procedure attempt's: kept with its id at the coordinator
                g.writeRawValue(txn.result());
            }
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * 200 committed, 409 aborted, 5xx, 408, 425 and 429 unknown (sent again), any other status a definite refusal; an answer
     * without a JSON body is unknown too when it is a success.
     */
    CoordinatorAnswer answer(CoordinatorClient.Answer a) {
        if (isTryLater(a.status())) {
            // A proxy or the server saying "not now" (time-out waiting for the request, rate limit, too early):
            // the attempt was not judged, so it is sent again under its id, never taken for a final refusal.
            return new CoordinatorAnswer.Unavailable("HTTP " + a.status() + ": try later");
        }
        JsonNode root;
        try {
            root = json.readTree(a.body());
        } catch (IOException e) {
            root = null;
        }
        if (root == null || !root.isObject()) {
            // A success says the attempt went through, not what became of it (its body lost or mangled on the
            // way): taken for a refusal, a commit was reported ROLLED_BACK. Asked again under its id instead.
            boolean unknown = a.status() >= 500 || a.status() / 100 == 2;
            return unknown ? new CoordinatorAnswer.Unavailable("HTTP " + a.status() + " without a JSON body")
                    : new CoordinatorAnswer.Refused(a.status(), "UNREADABLE", "an answer that is not JSON");
        }
        return switch (a.status()) {
            case 200 -> {
                String token = root.path("token").asText();
                yield new CoordinatorAnswer.Committed(root.path("timestamp").asLong(), root.path("adjusted").asBoolean(),
                        Tokens.anyPosition(token), Tokens.streamOf(token), root.hasNonNull("result") ? root.get("result") : null);
            }
            case 409 -> {
                List<String> conflicts = new ArrayList<>();
                root.path("conflicts").forEach(c -> conflicts.add(c.asText()));
                yield new CoordinatorAnswer.Aborted(root.path("reason").asText("ABORTED"), conflicts,
                        root.path("message").asText(""));
            }
            default -> a.status() >= 500 // 503, 504, or a fault: the outcome is unknown, ask again under the id
                    ? new CoordinatorAnswer.Unavailable(root.path("message").asText("HTTP " + a.status()))
                    : new CoordinatorAnswer.Refused(a.status(), root.path("error").asText("HTTP " + a.status()),
                            root.path("message").asText(""));
        };
    }

    /** 408 Request Timeout, 425 Too Early, 429 Too Many Requests: a request not judged, to repeat later. */
    private static boolean isTryLater(int status) {
        return status == 408 || status == 425 || status == 429;
    }
}
