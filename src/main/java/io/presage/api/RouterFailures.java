package io.presage.api;

import java.util.Map;
import java.util.Optional;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import org.eclipse.microprofile.config.inject.ConfigProperty;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.quarkus.runtime.configuration.MemorySize;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The API's JSON error for a request the router refuses before any resource sees it: a path or
 * query with a {@code %} escape that is not two hex digits ({@code /v1/kv/%ZZ}), an HTTP/1.1
 * request without a Host header. The router answered those with a bare 400 and an empty body, the
 * one bad input that escaped {@link ErrorMappers}. Only failures nothing else handled get here.
 *
 * <p>Also a body whose Content-Length is over {@code quarkus.http.limits.max-body-size}: Quarkus
 * refuses it with a bare 413 from a route of its own; this one runs first and says so in JSON. A
 * chunked body over the limit is only found while it is read, and still gets Quarkus's bare 413.
 */
@ApplicationScoped
public class RouterFailures {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject
    @ConfigProperty(name = "quarkus.http.limits.max-body-size")
    Optional<MemorySize> maxBody;

    void install(@Observes Router router) {
        if (maxBody.isPresent()) {
            long limit = maxBody.get().asLongValue();
            byte[] tooLarge = json(Map.of("error", "TOO_LARGE", "message", String.format(java.util.Locale.ROOT,
                    "request body over %,d bytes (quarkus.http.limits.max-body-size)", limit)));
            // Before Quarkus's own check (order -2), which ends the answer without a body. Only the methods
            // the API takes a body with, so that a GET (the ping of the benchmarks' ceiling) does not pass here.
            router.route().order(Integer.MIN_VALUE).method(HttpMethod.POST).method(HttpMethod.PUT)
                    .handler(ctx -> refuseOverLimit(ctx, limit, tooLarge));
        }
        // First of the failure handlers, so that Quarkus's own (a body with an error id) never sees these.
        router.route().order(Integer.MIN_VALUE).failureHandler(RouterFailures::failed);
        // A path whose escapes cannot be decoded matches no route, not even that one: the router then
        // calls its error handler for the status.
        router.errorHandler(400, RouterFailures::answer);
    }

    private static void refuseOverLimit(RoutingContext ctx, long limit, byte[] body) {
        String length = ctx.request().getHeader(HttpHeaders.CONTENT_LENGTH);
        if (length == null || !over(length, limit)) {
            ctx.next();
            return;
        }
        // The rest of the body is not read: the connection closes once the answer is out.
        ctx.response().setStatusCode(413).putHeader(HttpHeaders.CONNECTION, "close")
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json;charset=UTF-8")
                .end(Buffer.buffer(body)).onComplete(done -> ctx.request().connection().close());
    }

    private static boolean over(String length, long limit) {
        try {
            return Long.parseLong(length.trim()) > limit;
        } catch (NumberFormatException e) {
            return false; // the HTTP decoder refuses a malformed length itself
        }
    }

    private static void failed(RoutingContext ctx) {
        if (ctx.statusCode() == 400) {
            answer(ctx);
        } else {
            ctx.next();
        }
    }

    private static void answer(RoutingContext ctx) {
        if (ctx.response().ended() || ctx.response().headWritten()) {
            return;
        }
        Throwable why = ctx.failure();
        String detail = why == null || why.getMessage() == null
                ? "the URL cannot be decoded (every % must start an escape of two hex digits; %25 is a % itself)"
                : why.getMessage();
        byte[] body = json(Map.of("error", "BAD_REQUEST", "message", "malformed request: " + detail));
        ctx.response().setStatusCode(400)
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json;charset=UTF-8")
                .end(Buffer.buffer(body));
    }

    private static byte[] json(Map<String, String> body) {
        try {
            return JSON.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
