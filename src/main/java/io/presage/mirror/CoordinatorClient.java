package io.presage.mirror;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import org.jboss.logging.Logger;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.api.ApiException;
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
 *
 * <p>With several coordinator URLs (an active coordinator and standbys, DESIGN §10), calls go to one
 * of them at a time. When it does not answer, or answers 503, the client asks every URL's
 * {@code /v1/status} (at most once per {@link #RELOCATE_EVERY_MILLIS}) and moves to the first that is
 * {@code READY}. The call that failed is not sent again: its outcome is unknown, so the client gets
 * the 503 and retries, with its idempotency id if it gave one.
 */
public final class CoordinatorClient implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(CoordinatorClient.class);
    private static final TypeReference<Map<String, Long>> CLOCK = new TypeReference<>() {
    };
    /** Connections kept to the coordinator; more concurrent calls wait for one (bounded by the timeout). */
    private static final int CONNECTIONS = 64;
    /** Least time between two searches for the active coordinator. */
    static final long RELOCATE_EVERY_MILLIS = 500;

    /** One coordinator URL, taken apart once. */
    private record Target(String base, boolean https, String host, int port, String pathPrefix) {
        static Target of(String url) {
            String base = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
            URI uri = parse(base);
            boolean https = "https".equals(uri.getScheme());
            int port = uri.getPort() > 0 ? uri.getPort() : https ? 443 : 80;
            return new Target(base, https, uri.getHost(), port, uri.getRawPath() == null ? "" : uri.getRawPath());
        }
    }

    /**
     * The coordinator did not answer (refused, reset, timed out). {@link #maybeDelivered}: the request
     * had gone out on a connection, so the coordinator may have acted on it (a write may be committed).
     */
    public static final class Unreachable extends RuntimeException {
        private final boolean maybeDelivered;

        Unreachable(String message, Throwable cause) {
            this(message, cause, false);
        }

        Unreachable(String message, Throwable cause, boolean maybeDelivered) {
            super(message, cause, false, false);
            this.maybeDelivered = maybeDelivered;
        }

        public boolean maybeDelivered() {
            return maybeDelivered;
        }
    }

    /** What the coordinator answered: status and JSON body, passed on as they are. */
    public record Answer(int status, byte[] body) {
    }

    private final Target[] targets;
    /** Index in {@link #targets} of the coordinator calls go to. */
    private volatile int current;
    private final AtomicBoolean relocating = new AtomicBoolean();
    private volatile long lastRelocateMillis;
    private final long timeoutMillis;
    private final ObjectMapper json;
    private final HttpClient http;
    /** Where calls made off the event loop (speculations' retries, the lag refresher) are sent from. */
    private final Context home;
    private volatile boolean reachable = true;
    private volatile long lastAnswerMillis;

    /** @param urls one coordinator base URL, or several separated by commas (an active one and standbys) */
    public CoordinatorClient(Vertx vertx, String urls, Duration timeout, ObjectMapper json) {
        String[] parts = urls.split(",");
        List<Target> ts = new ArrayList<>(parts.length);
        for (String u : parts) {
            if (!u.isBlank()) {
                ts.add(Target.of(u.strip()));
            }
        }
        if (ts.isEmpty()) {
            throw new IllegalArgumentException("presage.mirror.coordinator-url is empty");
        }
        this.targets = ts.toArray(new Target[0]);
        boolean https = targets[0].https();
        for (Target t : targets) {
            if (t.https() != https) {
                throw new IllegalArgumentException("presage.mirror.coordinator-url mixes http and https: " + urls);
            }
        }
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

    /** Percent-encoded as one path segment: a '/' in a key or id travels as %2F, as a client sends it. */
    static String pathSegment(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** The URL calls go to now. */
    public String url() {
        return targets[current].base();
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
        Target t = targets[current];
        RequestOptions o = new RequestOptions()
                .setMethod(HttpMethod.valueOf(method))
                .setHost(t.host())
                .setPort(t.port())
                .setURI(t.pathPrefix() + pathAndQuery)
                .setIdleTimeout(timeoutMillis)
                .putHeader(HttpHeaders.ACCEPT, "application/json");
        if (body != null) {
            o.putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
        }
        boolean[] sent = new boolean[1]; // on this event loop only
        http.request(o)
                .compose(req -> {
                    sent[0] = true; // a connection is open: from here the coordinator may see the request
                    return body == null ? req.send() : req.send(Buffer.buffer(body));
                })
                .compose(resp -> resp.body().map(b -> new Answer(resp.statusCode(), b.getBytes())))
                .onComplete(ar -> {
                    if (ar.succeeded()) {
                        reachable = true;
                        lastAnswerMillis = System.currentTimeMillis();
                        if (ar.result().status() == 503) {
                            relocate(); // maybe a standby, or one that lost its lease
                        }
                        answer.complete(ar.result());
                    } else {
                        reachable = false;
                        relocate();
                        Throwable c = ar.cause();
                        answer.completeExceptionally(new Unreachable("the coordinator at " + t.base() + " did not answer: "
                                + why(c), c, sent[0]));
                    }
                });
    }

    /**
     * What went wrong, in words for a client's error message: the cause's own message ("Connection
     * refused: /127.0.0.1:8080"), not its class, which named Netty's internals in the API's answer.
     */
    static String why(Throwable c) {
        if (c.getMessage() != null && !c.getMessage().isBlank()) {
            return c.getMessage();
        }
        return c instanceof java.util.concurrent.TimeoutException || c.getClass().getSimpleName().contains("Timeout")
                ? "timed out" : "the connection failed";
    }

    /**
     * With several URLs: asks each, from the one after the current, for its state, and moves to the
     * first that is READY; stays put when none is. One search at a time, and not more often than
     * every {@link #RELOCATE_EVERY_MILLIS}. Runs on the event loop.
     */
    private void relocate() {
        long now = System.currentTimeMillis();
        if (targets.length == 1 || now - lastRelocateMillis < RELOCATE_EVERY_MILLIS || !relocating.compareAndSet(false, true)) {
            return;
        }
        lastRelocateMillis = now;
        int from = current;
        ask(from, 1);
    }

    private void ask(int from, int step) {
        if (step > targets.length) {
            relocating.set(false); // none READY: leave it where it is
            return;
        }
        int i = (from + step) % targets.length;
        Target t = targets[i];
        http.request(new RequestOptions().setMethod(HttpMethod.GET).setHost(t.host()).setPort(t.port())
                        .setURI(t.pathPrefix() + "/v1/status").setIdleTimeout(timeoutMillis))
                .compose(req -> req.send())
                .compose(resp -> resp.body().map(b -> resp.statusCode() == 200 && "READY".equals(state(b))))
                .onComplete(ar -> {
                    if (ar.succeeded() && ar.result()) {
                        if (i != current) {
                            current = i;
                            LOG.infof("the active coordinator is now %s", t.base());
                        }
                        relocating.set(false);
                    } else {
                        ask(from, step + 1);
                    }
                });
    }

    private String state(Buffer body) {
        try {
            return json.readTree(body.getBytes()).path("state").asText();
        } catch (IOException e) {
            return "";
        }
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
        if (a.status() == 413) {
            // Reachable, and it said why: too many bytes of values for one answer. Passed on as it is.
            throw ApiException.tooLarge(message(a));
        }
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
                // A deleted key is version 0 with its deletion in deletedVersion: kept as the tombstone it is.
                long version = i.has("deletedVersion") ? i.path("deletedVersion").asLong() : i.path("version").asLong();
                JsonNode value = i.get("value");
                Map<String, Long> clock = json.convertValue(i.path("vclock"), CLOCK);
                items.put(key, version == 0 ? null : new StoredItem(key,
                        value == null ? null : json.writeValueAsBytes(value), version, clock == null ? Map.of() : clock,
                        i.path("sequence").asLong(sequence)));
            }
            return new ReconcileBatcher.Reconciled(items, sequence, streamIn(root.get("token")));
        } catch (IOException | IllegalArgumentException e) {
            throw new Unreachable("the coordinator's reconcile answer is not understood: " + e.getMessage(), e);
        }
    }

    /** The stream a reconcile answer's token names; 0 when it has none (a coordinator of an earlier build). */
    private static long streamIn(JsonNode token) {
        if (token == null || !token.isTextual()) {
            return 0;
        }
        try {
            return io.presage.coord.Tokens.streamOf(token.asText());
        } catch (ApiException e) {
            throw new Unreachable("the coordinator's reconcile answer is not understood: token " + token, e);
        }
    }

    /** The {@code message} of an API error answer, or its body as text. */
    private String message(Answer a) {
        try {
            JsonNode m = json.readTree(a.body()).get("message");
            if (m != null && m.isTextual()) {
                return m.asText();
            }
        } catch (IOException e) {
            // not JSON: the text below
        }
        return new String(a.body(), StandardCharsets.UTF_8);
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
