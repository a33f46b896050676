package io.presage.api;

import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.core.JsonProcessingException;

import jakarta.ws.rs.NotAllowedException;
import jakarta.ws.rs.NotFoundException;
import jakarta.ws.rs.NotSupportedException;
import jakarta.ws.rs.WebApplicationException;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.Response;

import org.jboss.logging.Logger;
import org.jboss.resteasy.reactive.server.ServerExceptionMapper;

import io.presage.apply.ItemStore;
import io.vertx.core.http.HttpServerRequest;

/** Every failure leaves as the API's JSON error: never a stack trace, never a 500 for bad input. */
public class ErrorMappers {
    private static final Logger LOG = Logger.getLogger(ErrorMappers.class);
    private static final AllowedMethods ALLOWED = new AllowedMethods(NodeResource.class);
    private static final ThrottledWarning STORE_DOWN = new ThrottledWarning(LOG, 10, TimeUnit.SECONDS);

    @ServerExceptionMapper
    public Response api(ApiException e) {
        return Bodies.json(e.status(), e.body());
    }

    @ServerExceptionMapper
    public Response tooLargeAnswer(ItemStore.TooLarge e) {
        return Bodies.json(413, Map.of("error", "TOO_LARGE", "message", e.getMessage()));
    }

    @ServerExceptionMapper
    public Response malformedJson(JsonProcessingException e) {
        return Bodies.json(400, Map.of("error", "BAD_REQUEST", "message", "malformed JSON: " + e.getOriginalMessage()));
    }

    @ServerExceptionMapper
    public Response notFound(NotFoundException e) {
        return Bodies.json(404, Map.of("error", "NOT_FOUND", "message", "no such resource"));
    }

    @ServerExceptionMapper
    public Response notAllowed(NotAllowedException e, HttpServerRequest request) {
        Response r = Bodies.json(405, Map.of("error", "METHOD_NOT_ALLOWED", "message", "method not allowed here"));
        String allow = ALLOWED.allow(request.path());
        // HTTP requires it on a 405, and the router does not say
        return allow.isEmpty() ? r : Response.fromResponse(r).header(HttpHeaders.ALLOW, allow).build();
    }

    @ServerExceptionMapper
    public Response unsupported(NotSupportedException e) {
        return Bodies.json(415, Map.of("error", "UNSUPPORTED_MEDIA_TYPE", "message", "send application/json"));
    }

    @ServerExceptionMapper
    public Response web(WebApplicationException e) {
        int status = e.getResponse() == null ? 400 : e.getResponse().getStatus();
        if (status >= 500) {
            LOG.warn("request failed", e);
            return Bodies.json(status, Map.of("error", "INTERNAL", "message", "internal error"));
        }
        if (status == 413) {
            return Bodies.json(413, Map.of("error", "TOO_LARGE", "message", "request body too large"));
        }
        if (status == 406) {
            // An Accept header without JSON: the error code says so (it was BAD_REQUEST with a 406).
            return Bodies.json(406, Map.of("error", "NOT_ACCEPTABLE", "message", "this API answers application/json only"));
        }
        // The framework's own 400 (a query string whose escapes cannot be decoded) says only "HTTP 400
        // Bad Request"; its cause says what was wrong.
        String message = String.valueOf(e.getMessage());
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            if (c instanceof IllegalArgumentException && c.getMessage() != null) {
                message = "malformed request: " + c.getMessage();
                break;
            }
        }
        return Bodies.json(status, Map.of("error", "BAD_REQUEST", "message", message));
    }

    @ServerExceptionMapper
    public Response unexpected(Throwable e) {
        if (StoreOutage.is(e)) {
            STORE_DOWN.warn("a read needed the database, which is unavailable: " + e);
            return Bodies.json(503, Map.of("error", "UNAVAILABLE", "message", "this node's database is unavailable; retry"));
        }
        if (e instanceof java.io.IOException && "Request too large".equals(e.getMessage())) {
            // A chunked body passed quarkus.http.limits.max-body-size while being read: the HTTP layer has
            // answered 413 already. Bad input, not a bug: no stack in the log.
            LOG.debugf("request body over the limit: %s", e.getMessage());
            return Bodies.json(413, Map.of("error", "TOO_LARGE", "message", "request body too large"));
        }
        // A bug, not bad input: log it with its stack for us, answer without one.
        LOG.error("unexpected failure", e);
        return Bodies.json(500, Map.of("error", "INTERNAL", "message", "internal error; see the server log"));
    }
}
