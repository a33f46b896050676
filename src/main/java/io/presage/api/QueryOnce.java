package io.presage.api;

import java.util.List;

import jakarta.ws.rs.core.Response;

import org.jboss.resteasy.reactive.server.ServerRequestFilter;

import io.vertx.core.http.HttpServerRequest;

/**
 * Each of the API's query parameters at most once: {@code ?consistency=predictive&consistency=strong}
 * was answered as a predictive read, the framework keeping the first value and dropping the other
 * without a word, as {@code ?id=a&id=b} ran the call under {@code a}. A client that sends one twice
 * (a URL built by appending) does not know which it gets; it gets 400 naming the parameter instead,
 * also when both copies are equal, so that the rule is simple to state (API.md). A parameter the API
 * does not read is ignored, as before, however often it comes.
 */
public class QueryOnce {
    /** Every query parameter the API reads, at either role. */
    static final List<String> PARAMETERS = List.of("consistency", "minConfidence", "after", "timeoutMs", "speculative", "id");

    @ServerRequestFilter
    public Response once(HttpServerRequest request) {
        String query = request.query();
        if (query == null || query.indexOf('&') < 0) {
            return null; // the usual request: no query, or one parameter
        }
        String twice = Keys.repeatedQueryName(query, PARAMETERS);
        if (twice == null) {
            return null;
        }
        ApiException e = ApiException.badRequest("query parameter " + twice
                + " is given more than once; give it once (which of the values was meant cannot be told)");
        return Bodies.json(e.status(), e.body());
    }
}
