package io.presage.api;

import java.nio.charset.StandardCharsets;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * {@code OPTIONS} on the API's paths, answered from the same table as a 405's {@code Allow}
 * ({@link AllowedMethods}). Quarkus REST answered every {@code OPTIONS} under {@code /v1} with 200 and all the
 * methods of the resource class (POST for a key, DELETE for {@code /v1/transactions}), also for a path that
 * does not exist: a client or proxy that trusts it would send requests that can only get a 405 or a 404.
 * Paths outside {@code /v1/} (health, metrics, OpenAPI) keep their own answers.
 */
@ApplicationScoped
public class OptionsAnswers {
    private static final AllowedMethods ALLOWED = new AllowedMethods(NodeResource.class);
    private static final Buffer NOT_FOUND = Buffer.buffer(
            "{\"error\":\"NOT_FOUND\",\"message\":\"no such resource\"}".getBytes(StandardCharsets.UTF_8));

    void install(@Observes Router router) {
        router.route().order(Integer.MIN_VALUE + 1).method(HttpMethod.OPTIONS).pathRegex("/v1/.*")
                .handler(OptionsAnswers::answer);
    }

    private static void answer(RoutingContext ctx) {
        String allow = ALLOWED.allow(ctx.request().path());
        if (allow.isEmpty()) {
            ctx.response().setStatusCode(404).putHeader(HttpHeaders.CONTENT_TYPE, "application/json;charset=UTF-8")
                    .end(NOT_FOUND);
            return;
        }
        ctx.response().setStatusCode(200).putHeader(HttpHeaders.ALLOW, allow).putHeader(HttpHeaders.CONTENT_LENGTH, "0").end();
    }
}
