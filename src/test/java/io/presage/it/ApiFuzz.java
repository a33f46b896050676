package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.POJONode;
import com.fasterxml.jackson.databind.util.RawValue;

/**
 * Random bad requests against a running node, sent as raw bytes (HTTP clients refuse to send a URL
 * like {@code /v1/kv/%ZZ}): every method on every path, malformed paths, queries and escapes, bodies
 * that are not JSON, are the wrong JSON, or are a valid body with one part swapped for a value of
 * another type. The oracle is API.md's promise: an answer in {@link #ANSWERS}, and every error a
 * JSON object with {@code error} and {@code message}, never a stack trace, never a 500. Seeded, so a
 * failure names the seed and request that reproduce it.
 */
final class ApiFuzz {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** What API.md allows, plus 405/406/415, which the README documents (415: a Content-Type that does not parse). */
    private static final Set<Integer> ANSWERS = Set.of(200, 202, 400, 404, 405, 406, 409, 413, 415, 503, 504);

    private static final String[] METHODS = {"GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"};
    private static final String[] KEYS = {"fz", "fz-2", "", "%20", "%00", "%ZZ", "%C3%28", "%FF", "x".repeat(600),
            "k%2Fslash", "..", "%2e%2e", "_batch", "%C3%A9", "%F0%9F%98%80", "%09", "k%0A", "%7F", "a[]", "%", "a%2"};
    private static final String[] PATHS = {"/v1/kv/{k}", "/v1/kv/_batch", "/v1/transactions", "/v1/transactions/{k}",
            "/v1/procedures/transfer", "/v1/procedures/increment", "/v1/procedures/{k}", "/v1/status", "/v1/reconcile/{k}",
            "/v1/reconcile", "/v1/ping", "/v1/kv/{k}?consistency={c}&minConfidence={m}&after={a}&timeoutMs={t}",
            "/v1/transactions?speculative={s}", "/v1/procedures/increment?speculative={s}&id={k}", "/v1/kv/", "/v1/nothing/{k}"};
    private static final String[] CONSISTENCY = {"causal", "strong", "predictive", "x", "", "%ZZ"};
    private static final String[] NUMBERS = {"0.5", "2", "-1", "x", "", "NaN", "1e999", "99999999999999999999", "%ZZ"};
    private static final String[] TOKENS = {"", "x", "AAAA", "-1", "%00", "p1.1", "p9999999999999.zz"};
    private static final String[] CONTENT_TYPES = {"application/json", "text/plain", null, "application/json; charset=latin1",
            "application/x-www-form-urlencoded", "application/json; charset=utf-16"};
    private static final String[] RAW_BODIES = {"", "{", "null", "[]", "{}", "\"str\"", "1e999", "-0", "\u00ff\u00fe",
            "[".repeat(3000) + "]".repeat(3000), "{\"a\":".repeat(2000) + "1" + "}".repeat(2000)};
    /** Valid bodies for each endpoint; a case takes one and swaps or drops one part. */
    private static final String[] VALID = {
            "{\"reads\":[{\"key\":\"fz\",\"version\":0}],\"writes\":[{\"key\":\"fz\",\"value\":{\"a\":1}},{\"key\":\"fz-2\",\"delete\":true}],\"id\":\"fz-id\"}",
            "{\"keys\":[\"fz\",\"fz-2\"],\"consistency\":\"causal\",\"minConfidence\":0.5,\"after\":\"p1.1\",\"timeoutMs\":50}",
            "{\"from\":\"fz\",\"to\":\"fz-2\",\"amount\":5}",
            "{\"key\":\"fz\",\"by\":2}"};
    private static final String[] SWAPS = {"null", "true", "0", "-1", "1.5", "1e308", "100000000000000000000000000000", "\"\"",
            "\"x\"", "\"\\u0000\"", "\"\\ud800\"", "[]", "{}", "[[]]", "\"p1.1\"", "\"" + "k".repeat(600) + "\""};

    private ApiFuzz() {
    }

    /**
     * Sends {@code requests} random bad requests to the node on {@code port}; fails on the first broken
     * answer. {@code -Dfuzz.seed=S -Dfuzz.requests=N} on the test command explores
     * further than the suite's fixed seed.
     */
    static void everyAnswerKeepsTheContract(int port, long seed, int requests) throws IOException {
        seed = Long.getLong("fuzz.seed", seed);
        requests = Integer.getInteger("fuzz.requests", requests);
        Random rnd = new Random(seed);
        for (int i = 0; i < requests; i++) {
            String method = pick(rnd, METHODS);
            String path = pick(rnd, PATHS).replace("{k}", pick(rnd, KEYS)).replace("{c}", pick(rnd, CONSISTENCY))
                    .replace("{m}", pick(rnd, NUMBERS)).replace("{t}", pick(rnd, NUMBERS)).replace("{a}", pick(rnd, TOKENS))
                    .replace("{s}", pick(rnd, new String[] {"true", "false", "x", ""}));
            String body = method.equals("GET") || method.equals("OPTIONS") ? ""
                    : rnd.nextInt(3) == 0 ? pick(rnd, RAW_BODIES) : swapped(rnd, pick(rnd, VALID));
            String contentType = body.isEmpty() ? null : pick(rnd, CONTENT_TYPES);
            String what = String.format(Locale.ROOT, "seed %d, request %d: %s %s%s body %.200s", seed, i, method, path,
                    contentType == null ? "" : " (" + contentType + ")", body);
            check(what, method, send(port, method, path, contentType, body));
        }
    }

    /**
     * {@code json} with one value swapped for one of {@link #SWAPS} (sent as written, so a lone
     * surrogate escape stays an escape) or dropped, or cut short.
     */
    private static String swapped(Random rnd, String json) throws IOException {
        if (rnd.nextInt(10) == 0) {
            return json.substring(0, rnd.nextInt(json.length()));
        }
        JsonNode root = JSON.readTree(json);
        List<Runnable> edits = new ArrayList<>();
        collectEdits(root, rnd, edits);
        edits.get(rnd.nextInt(edits.size())).run();
        return JSON.writeValueAsString(root);
    }

    /** One edit per value under {@code node}, at any depth: swap it, or (one in five) drop it. */
    private static void collectEdits(JsonNode node, Random rnd, List<Runnable> edits) {
        if (node instanceof ObjectNode o) {
            List<String> names = new ArrayList<>();
            o.fieldNames().forEachRemaining(names::add);
            for (String name : names) {
                edits.add(() -> swapOrDrop(rnd, () -> o.remove(name), v -> o.set(name, v)));
                collectEdits(o.get(name), rnd, edits);
            }
        } else if (node instanceof ArrayNode a) {
            for (int i = 0; i < a.size(); i++) {
                int at = i;
                edits.add(() -> swapOrDrop(rnd, () -> a.remove(at), v -> a.set(at, v)));
                collectEdits(a.get(i), rnd, edits);
            }
        }
    }

    private static void swapOrDrop(Random rnd, Runnable drop, java.util.function.Consumer<JsonNode> swap) {
        if (rnd.nextInt(5) == 0) {
            drop.run();
        } else {
            swap.accept(new POJONode(new RawValue(pick(rnd, SWAPS))));
        }
    }

    private static void check(String what, String method, Answer a) {
        assertTrue(ANSWERS.contains(a.status) || (a.status >= 200 && a.status < 300), what + " → " + a);
        assertTrue(!a.body.contains("Exception") && !a.body.contains("\tat "), what + " → a stack trace: " + a);
        if (a.status < 400) {
            return;
        }
        JsonNode error;
        try {
            error = JSON.readTree(a.body);
        } catch (IOException e) {
            fail(what + " → an error that is not JSON: " + a);
            return;
        }
        assertTrue(error != null && error.isObject() && error.path("error").isTextual() && error.path("message").isTextual(),
                what + " → an error without error and message: " + a);
    }

    record Answer(int status, String body) {
        @Override
        public String toString() {
            return status + " " + (body.length() > 300 ? body.substring(0, 300) + "…" : body);
        }
    }

    private static Answer send(int port, String method, String path, String contentType, String body) throws IOException {
        byte[] payload = body.getBytes(StandardCharsets.UTF_8);
        StringBuilder head = new StringBuilder(method).append(' ').append(path).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .append("Connection: close\r\n");
        if (contentType != null) {
            head.append("Content-Type: ").append(contentType).append("\r\n");
        }
        if (payload.length > 0 || method.equals("POST") || method.equals("PUT")) {
            head.append("Content-Length: ").append(payload.length).append("\r\n");
        }
        head.append("\r\n");
        return parse(RawHttp.exchange(port, head.append(body).toString()));
    }

    /** Status and body of one HTTP/1.1 answer, with a chunked body joined. */
    private static Answer parse(String all) {
        int split = all.indexOf("\r\n\r\n");
        assertTrue(all.startsWith("HTTP/1.") && split > 0, "not an HTTP answer: " + all);
        int status = Integer.parseInt(all.substring(9, 12));
        String headers = all.substring(0, split).toLowerCase(Locale.ROOT);
        String body = all.substring(split + 4);
        if (headers.contains("transfer-encoding: chunked")) {
            ByteArrayOutputStream joined = new ByteArrayOutputStream();
            int at = 0;
            while (true) {
                int eol = body.indexOf("\r\n", at);
                int size = Integer.parseInt(body.substring(at, eol).trim(), 16);
                if (size == 0) {
                    break;
                }
                joined.writeBytes(body.substring(eol + 2, eol + 2 + size).getBytes(StandardCharsets.ISO_8859_1));
                at = eol + 2 + size + 2;
            }
            body = joined.toString(StandardCharsets.ISO_8859_1);
        }
        return new Answer(status, new String(body.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8));
    }

    private static String pick(Random rnd, String[] from) {
        return from[rnd.nextInt(from.length)];
    }
}
