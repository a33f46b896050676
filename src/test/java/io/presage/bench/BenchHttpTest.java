package io.presage.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.RequestOptions;

/**
 * The benchmarks' and the demo's HTTP client against a local Vert.x server that answers at once:
 * the case where a reply can overtake a caller that is still wiring up its callbacks.
 */
class BenchHttpTest {
    private static final String BODY = "{\"ok\":true,\"padding\":\"" + "x".repeat(200) + "\"}";

    private Vertx vertx;
    private URI server;

    @BeforeEach
    void startServer() throws Exception {
        vertx = Vertx.vertx();
        HttpServer s = vertx.createHttpServer()
                .requestHandler(r -> r.response().putHeader("content-type", "application/json").end(BODY));
        s.listen(0, "127.0.0.1").toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        server = URI.create("http://127.0.0.1:" + s.actualPort());
    }

    @AfterEach
    void stop() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /**
     * Why {@link BenchHttp#call} never chains from a plain thread: Vert.x keeps a response's body
     * only for a {@code body()} asked for before the response ends. Asked later, it completes with
     * the real status and zero bytes (the demo's "200 with an empty body" from a causal read). If a
     * Vert.x upgrade fixes this, this test fails and the comment in BenchHttp can go.
     */
    @Test
    void vertxLosesTheBodyOfAResponseWhoseBodyIsAskedForAfterItEnded() throws Exception {
        HttpClient client = vertx.createHttpClient();
        RequestOptions options = new RequestOptions().setHost("127.0.0.1").setPort(server.getPort()).setURI("/");
        assertEquals("200:" + BODY.length(), bodyAskedAfter(client, options, 0), "asked for at once: the whole body");
        // A caller descheduled while the whole reply arrives. The reply must have ended before body() is
        // asked for, which a busy machine may delay past any one wait: longer waits until it has.
        String got = null;
        for (long waitMillis : new long[] {300, 1_000, 3_000}) {
            got = bodyAskedAfter(client, options, waitMillis);
            if (got.equals("200:0")) {
                break;
            }
        }
        assertEquals("200:0", got);
    }

    private static String bodyAskedAfter(HttpClient client, RequestOptions options, long waitMillis) throws Exception {
        HttpClientRequest req = client.request(options).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        Future<HttpClientResponse> response = req.send();
        if (waitMillis > 0) {
            Thread.sleep(waitMillis);
        }
        return response.compose(r -> r.body().map(b -> r.statusCode() + ":" + b.length()))
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @Test
    void callsFromAPlainThreadGetTheWholeBodyWhileTheMachineIsBusy() throws Exception {
        BenchHttp http = new BenchHttp(vertx, 1);
        AtomicBoolean stop = new AtomicBoolean();
        Thread[] burners = new Thread[Runtime.getRuntime().availableProcessors() * 2];
        for (int i = 0; i < burners.length; i++) {
            burners[i] = new Thread(() -> {
                long x = 0;
                while (!stop.get()) {
                    x += System.nanoTime() % 7; // keeps the cores busy so the caller gets descheduled
                }
                if (x == 42) {
                    System.out.print("");
                }
            });
            burners[i].setDaemon(true);
            burners[i].start();
        }
        try {
            for (int i = 0; i < 3_000; i++) {
                BenchHttp.Reply r = http.await(HttpMethod.GET, server, "/v1/ping");
                assertEquals(200, r.status());
                assertEquals(BODY, r.string(), "call " + i + " lost its body");
            }
        } finally {
            stop.set(true);
        }
    }
}
