package io.presage.mirror;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.apply.StoredItem;

/**
 * The mirror's HTTP client to the coordinator: forwarded writes and reconciliations. One pooled
 * {@link HttpClient} (HTTP/1.1 keep-alive connections), asynchronous, every call bounded by the
 * forward timeout. Whether the coordinator answered last time is remembered for status.
 */
public final class CoordinatorClient implements AutoCloseable {
    private static final TypeReference<Map<String, Long>> CLOCK = new TypeReference<>() {
    };

    /** The coordinator did not answer (refused, reset, timed out): the caller answers 503. */
    public static final class Unreachable extends RuntimeException {
        Unreachable(String message, Throwable cause) {
            super(message, cause, false, false);
        }
    }

    /** What the coordinator answered: status and JSON body, passed on as they are. */
    public record Answer(int status, byte[] body) {
    }

    private final String base;
    private final Duration timeout;
    private final ObjectMapper json;
    private final ExecutorService executor;
    private final HttpClient http;
    private volatile boolean reachable = true;
    private volatile long lastAnswerMillis;

    public CoordinatorClient(String baseUrl, Duration timeout, ObjectMapper json) {
        this.base = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.timeout = timeout;
        this.json = json;
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "presage-coordinator-client");
            t.setDaemon(true);
            return t;
        });
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout).executor(executor).build();
    }

    public String url() {
        return base;
    }

    public boolean reachable() {
        return reachable;
    }

    /** Sends {@code method pathAndQuery} with {@code body} (null: none) to the coordinator. */
    public CompletableFuture<Answer> send(String method, String pathAndQuery, byte[] body) {
        HttpRequest.Builder b;
        try {
            b = HttpRequest.newBuilder(URI.create(base + pathAndQuery)).timeout(timeout)
                    .header("Accept", "application/json");
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(new Unreachable("bad coordinator URL " + base, e));
        }
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        return http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofByteArray()).handle((r, e) -> {
            if (e != null) {
                reachable = false;
                Throwable c = e.getCause() != null ? e.getCause() : e;
                throw new Unreachable("the coordinator at " + base + " did not answer: "
                        + c.getClass().getSimpleName() + (c.getMessage() == null ? "" : " " + c.getMessage()), c);
            }
            reachable = true;
            lastAnswerMillis = System.currentTimeMillis();
            return new Answer(r.statusCode(), r.body());
        });
    }

    /** {@code POST /v1/reconcile}: the keys' latest committed states at one position. */
    public CompletableFuture<ReconcileBatcher.Reconciled> reconcile(List<String> keys) {
        byte[] body;
        try {
            body = json.writeValueAsBytes(Map.of("keys", keys));
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return send("POST", "/v1/reconcile", body).thenApply(this::reconciled);
    }

    private ReconcileBatcher.Reconciled reconciled(Answer a) {
        if (a.status() != 200) {
            // 503 while the coordinator recovers, or something it refused: not an answer to serve.
            throw new Unreachable("the coordinator answered reconcile with " + a.status() + ": "
                    + new String(a.body(), StandardCharsets.UTF_8), null);
        }
        try {
            JsonNode root = json.readTree(a.body());
            Map<String, StoredItem> items = new HashMap<>();
            long sequence = root.path("sequence").asLong();
            for (JsonNode i : root.path("items")) {
                String key = i.path("key").asText();
                long version = i.path("version").asLong();
                JsonNode value = i.get("value");
                Map<String, Long> clock = json.convertValue(i.path("vclock"), CLOCK);
                items.put(key, version == 0 ? null : new StoredItem(key,
                        value == null ? null : json.writeValueAsBytes(value), version, clock == null ? Map.of() : clock,
                        i.path("sequence").asLong(sequence)));
            }
            return new ReconcileBatcher.Reconciled(items, sequence);
        } catch (IOException | IllegalArgumentException e) {
            throw new Unreachable("the coordinator's reconcile answer is not understood: " + e.getMessage(), e);
        }
    }

    /** A cheap {@code GET /v1/ping}, to keep {@link #reachable()} current when nothing else is sent. */
    public CompletableFuture<Boolean> probe() {
        return send("GET", "/v1/ping", null).handle((a, e) -> e == null);
    }

    public long lastAnswerMillis() {
        return lastAnswerMillis;
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
