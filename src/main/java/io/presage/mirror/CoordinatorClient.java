package io.presage.mirror;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.apply.StoredItem;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

/**
 * The mirror's HTTP client to the coordinator: forwarded writes, speculation attempts and
 * reconciliations. One Vert.x HTTP/1.1 client on the node's Vert.x, a keep-alive pool, every call
 * bounded by the forward timeout (no byte back for that long: 503). Replies are handled on the event
 * loop that sent the request, with no hop to another thread. Whether the coordinator answered last
 * time is remembered for status.
 */
public final class CoordinatorClient implements AutoCloseable {
    private static final TypeReference<Map<String, Long>> CLOCK = new TypeReference<>() {
    };
    /** Connections kept to the coordinator; more concurrent calls wait for one (bounded by the timeout). */
    private static final int CONNECTIONS = 64;

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
    private final String host;
    private final int port;
    /** The base URL's path, put before every request's path (empty for a URL without one). */
    private final String pathPrefix;
    private final long timeoutMillis;
    private final ObjectMapper json;
    private final HttpClient http;
    /** Where calls made off the event loop (speculations' retries, the lag refresher) are sent from. */
    private final Context home;
    private volatile boolean reachable = true;
    private volatile long lastAnswerMillis;

    public CoordinatorClient(Vertx vertx, String baseUrl, Duration timeout, ObjectMapper json) {
        this.base = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        URI uri = parse(base);
        boolean https = "https".equals(uri.getScheme());
        this.host = uri.getHost();
        this.port = uri.getPort() > 0 ? uri.getPort() : https ? 443 : 80;
        this.pathPrefix = uri.getRawPath() == null ? "" : uri.getRawPath();
        this.timeoutMillis = timeout.toMillis();
        this.json = json;
        this.home = vertx.getOrCreateContext();
        HttpClientOptions options = new HttpClientOptions()
                .setKeepAlive(true)
                .setPipelining(false)
                .setTcpNoDelay(true)
                .setSsl(https)
                .setConnectTimeout((int) Math.min(Integer.MAX_VALUE, timeoutMillis));
        this.http = vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(CONNECTIONS).setMaxWaitQueueSize(-1));
    }

    private static URI parse(String base) {
        try {
            URI u = URI.create(base);
            if (u.getHost() == null || !("http".equals(u.getScheme()) || "https".equals(u.getScheme()))) {
                throw new IllegalArgumentException("not an http(s) URL");
            }
            return u;
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("presage.mirror.coordinator-url is not a usable URL: " + base + " (" + e.getMessage() + ")");
        }
    }

    /** Percent-encoded for a path, except '/', which the key and id paths match as it is. */
    static String pathSegment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20").replace("%2F", "/");
    }

    public String url() {
        return base;
    }

    public boolean reachable() {
        return reachable;
    }

    /** Sends {@code method pathAndQuery} with {@code body} (null: none) to the coordinator. */
    public CompletableFuture<Answer> send(String method, String pathAndQuery, byte[] body) {
        CompletableFuture<Answer> answer = new CompletableFuture<>();
        // On the event loop, request → send → body() cannot be overtaken by the reply (see BenchHttp).
        if (Context.isOnEventLoopThread()) {
            exchange(method, pathAndQuery, body, answer);
        } else {
            home.runOnContext(v -> exchange(method, pathAndQuery, body, answer));
        }
        return answer;
    }

    private void exchange(String method, String pathAndQuery, byte[] body, CompletableFuture<Answer> answer) {
        RequestOptions o = new RequestOptions()
                .setMethod(HttpMethod.valueOf(method))
                .setHost(host)
                .setPort(port)
                .setURI(pathPrefix + pathAndQuery)
                .setIdleTimeout(timeoutMillis)
                .putHeader(HttpHeaders.ACCEPT, "application/json");
        if (body != null) {
            o.putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
        }
        http.request(o)
                .compose(req -> body == null ? req.send() : req.send(Buffer.buffer(body)))
                .compose(resp -> resp.body().map(b -> new Answer(resp.statusCode(), b.getBytes())))
                .onComplete(ar -> {
                    if (ar.succeeded()) {
                        reachable = true;
                        lastAnswerMillis = System.currentTimeMillis();
                        answer.complete(ar.result());
                    } else {
                        reachable = false;
                        Throwable c = ar.cause();
                        answer.completeExceptionally(new Unreachable("the coordinator at " + base + " did not answer: "
                                + c.getClass().getSimpleName() + (c.getMessage() == null ? "" : " " + c.getMessage()), c));
                    }
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
        http.close();
    }
}
