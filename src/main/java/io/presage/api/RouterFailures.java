package io.presage.api;

import java.util.Map;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The API's JSON error for a request the router refuses before any resource sees it: a path or
 * query with a {@code %} escape that is not two hex digits ({@code /v1/kv/%ZZ}), an HTTP/1.1
 * request without a Host header. The router answered those with a bare 400 and an empty body, the
 * one bad input that escaped {@link ErrorMappers}. Only failures nothing else handled get here.
 */
@ApplicationScoped
public class RouterFailures {
    private static final ObjectMapper JSON = new ObjectMapper();

    void install(@Observes Router router) {
        // First of the failure handlers, so that Quarkus's own (a body with an error id) never sees these.
        router.route().order(Integer.MIN_VALUE).failureHandler(RouterFailures::failed);
        // A path whose escapes cannot be decoded matches no route, not even that one: the router then
        // calls its error handler for the status.
        router.errorHandler(400, RouterFailures::answer);
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
        byte[] body;
        try {
            body = JSON.writeValueAsBytes(Map.of("error", "BAD_REQUEST", "message", "malformed request: " + detail));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        ctx.response().setStatusCode(400)
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json;charset=UTF-8")
                .end(Buffer.buffer(body));
    }
}
