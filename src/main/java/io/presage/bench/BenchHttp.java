package io.presage.bench;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;

/**
 * The benchmarks' HTTP client: one Vert.x HTTP/1.1 client, a keep-alive pool of up to
 * {@code connections}, no pipelining, so that one process on two cores can keep a server busy.
 */
final class BenchHttp {
    /** A request that gets no byte back for this long fails (the coordinator answers within 10 s). */
    static final long REQUEST_IDLE_TIMEOUT_MS = 30_000;

    record Reply(int status, Buffer body) {
        String text() {
            String s = body == null ? "" : body.toString(StandardCharsets.UTF_8);
            return s.length() > 300 ? s.substring(0, 300) + "…" : s;
        }

        String string() {
            return body == null ? "" : body.toString(StandardCharsets.UTF_8);
        }
    }

    final HttpClient client;
    /** Where calls made outside Vert.x (the main thread between phases) run: see {@link #call}. */
    private final Context home;

    BenchHttp(Vertx vertx, int connections) {
        home = vertx.getOrCreateContext();
        HttpClientOptions options = new HttpClientOptions()
                .setKeepAlive(true)
                .setPipelining(false)
                .setTcpNoDelay(true)
                .setConnectTimeout(3_000)
                .setTryUseCompression(false);
        client = vertx.createHttpClient(options, new PoolOptions().setHttp1MaxSize(connections).setMaxWaitQueueSize(-1));
    }

    static int port(URI u) {
        return u.getPort() > 0 ? u.getPort() : 80;
    }

    /**
     * One request and its whole body. The steps run on a Vert.x event loop even when the caller is
     * not on one: Vert.x keeps a response's body only for a {@code body()} call made before the
     * response ends, and a late call completes with an <em>empty</em> body and the real status
     * (vert.x issue 5904). Chained from a plain thread, {@code resp.body()} runs on that thread
     * whenever it is slower than the reply; on a loaded machine the demo once got "200, no body"
     * from a causal read that way. On the event loop the reply cannot arrive between the steps.
     */
    Future<Reply> call(HttpMethod method, URI node, String path, Buffer body) {
        return call(method, node, path, body, null, null);
    }

    /** As {@link #call(HttpMethod, URI, String, Buffer)}, with one more header ({@code name} null: none). */
    Future<Reply> call(HttpMethod method, URI node, String path, Buffer body, String name, String value) {
        if (Context.isOnEventLoopThread()) {
            return send(method, node, path, body, name, value);
        }
        Promise<Reply> reply = Promise.promise();
        home.runOnContext(v -> send(method, node, path, body, name, value).onComplete(reply));
        return reply.future();
    }

    private Future<Reply> send(HttpMethod method, URI node, String path, Buffer body, String name, String value) {
        RequestOptions o = new RequestOptions()
                .setMethod(method)
                .setHost(node.getHost())
                .setPort(port(node))
                .setURI(path)
                .setIdleTimeout(REQUEST_IDLE_TIMEOUT_MS);
        if (body != null) {
            o.putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
        }
        if (name != null) {
            o.putHeader(name, value);
        }
        return client.request(o)
                .compose(req -> body == null ? req.send() : req.send(body))
                .compose(resp -> resp.body().map(b -> new Reply(resp.statusCode(), b)));
    }

    /** Blocking, for the main thread between phases. */
    Reply await(HttpMethod method, URI node, String path) throws Exception {
        return await(method, node, path, null);
    }

    /** Blocking, with a JSON body (or none). */
    Reply await(HttpMethod method, URI node, String path, String json) throws Exception {
        return call(method, node, path, json == null ? null : Buffer.buffer(json))
                .toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
    }
}
