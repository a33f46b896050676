package io.presage.api;

import java.util.Map;

import jakarta.annotation.PostConstruct;
import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.Encoded;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;

import io.presage.config.PresageConfig;
import io.presage.mirror.MirrorApi;
import io.smallrye.common.annotation.NonBlocking;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpServerRequest;

/** API v1 (see shared/API.md): the paths, delegating to the node's role ({@link NodeApi}). */
@Path("/v1")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.WILDCARD)
public class NodeResource {
    /** The header a client names its session with, so that a mirror learns what its reads follow. */
    public static final String SESSION = "Presage-Session";

    @Inject
    PresageConfig config;
    @Inject
    Instance<CoordinatorApi> coordinator;
    @Inject
    Instance<MirrorApi> mirror;

    private NodeApi api;

    @PostConstruct
    void init() {
        // Only the role's implementation is created: the other one's beans are never started.
        api = "mirror".equals(config.role()) ? mirror.get() : coordinator.get();
    }

    @GET
    @Path("/kv/{key: .*}")
    public Uni<Response> get(@PathParam("key") @Encoded String key, @QueryParam("consistency") String consistency,
            @QueryParam("minConfidence") String minConfidence, @QueryParam("after") String after,
            @QueryParam("timeoutMs") String timeoutMs, @HeaderParam(SESSION) String session, @Context HttpServerRequest request) {
        return api.get(keyFromPath(key, request), new NodeApi.ReadParams(consistency, minConfidence, after, timeoutMs, session));
    }

    @PUT
    @Path("/kv/{key: .*}")
    public Uni<Response> put(@PathParam("key") @Encoded String key, @QueryParam("speculative") String speculative,
            @Context HttpServerRequest request, byte[] body) {
        return api.put(keyFromPath(key, request), body, speculative);
    }

    @DELETE
    @Path("/kv/{key: .*}")
    public Uni<Response> delete(@PathParam("key") @Encoded String key, @QueryParam("speculative") String speculative,
            @Context HttpServerRequest request) {
        return api.delete(keyFromPath(key, request), speculative);
    }

    @POST
    @Path("/kv/_batch")
    public Uni<Response> batch(@QueryParam("consistency") String consistency,
            @QueryParam("minConfidence") String minConfidence, @QueryParam("after") String after,
            @QueryParam("timeoutMs") String timeoutMs, byte[] body) {
        return api.batch(body, new NodeApi.ReadParams(consistency, minConfidence, after, timeoutMs));
    }

    @POST
    @Path("/transactions")
    public Uni<Response> transaction(@QueryParam("speculative") String speculative, byte[] body) {
        return api.transaction(body, speculative);
    }

    @GET
    @Path("/transactions/{id: .+}")
    public Uni<Response> transactionOutcome(@PathParam("id") @Encoded String id, @Context HttpServerRequest request) {
        if (request.path().indexOf(';') >= 0) {
            throw ApiException.badRequest("a ';' in a transaction id travels as %3B in a URL: a bare one starts path "
                    + "parameters, which would cut the id short");
        }
        return api.transactionOutcome(Keys.idFromUrl(id, false, "a transaction id"));
    }

    @POST
    @Path("/procedures/{name}")
    public Uni<Response> procedure(@PathParam("name") String name,
            @QueryParam("speculative") String speculative, @Context HttpServerRequest request, byte[] body) {
        // The id is decoded from the raw query: the framework hands even an @Encoded query parameter
        // over decoded (bytes that are not UTF-8 already turned into U+FFFD) and encoded again, and an
        // empty one (?id=) as none at all, which ran the call without its idempotency: now 400.
        String raw = Keys.rawQueryValue(request.query(), "id");
        String id = raw == null ? null : Keys.idFromUrl(raw, true, "id");
        return api.procedure(name, id, body, speculative);
    }

    @GET
    @Path("/status")
    public Map<String, Object> status() {
        return api.status();
    }

    @GET
    @Path("/reconcile/{key: .*}")
    public Uni<Response> reconcile(@PathParam("key") @Encoded String key, @Context HttpServerRequest request) {
        return api.reconcile(keyFromPath(key, request));
    }

    @POST
    @Path("/reconcile")
    public Uni<Response> reconcileAll(byte[] body) {
        return api.reconcileAll(body);
    }

    /**
     * The trivial endpoint the benchmarks measure the HTTP ceiling with. Non-blocking, like every
     * endpoint that returns a {@code Uni}: a plain return type would otherwise send each call through
     * the worker pool and back, and the ceiling would measure that hop rather than the HTTP stack.
     */
    @GET
    @Path("/ping")
    @NonBlocking
    public Map<String, Object> ping() {
        return Map.of("ok", true);
    }

    /**
     * The key of a {@code /kv/{key}} path. A bare ';' in it starts path (matrix) parameters, which the
     * framework cuts off the key: {@code PUT /v1/kv/a;b} wrote key {@code a}. Refused instead; the
     * client sends it as {@code %3B}.
     */
    private static String keyFromPath(String key, HttpServerRequest request) {
        if (request.path().indexOf(';') >= 0) {
            throw ApiException.invalidKey("a ';' in a key travels as %3B in a URL: a bare one starts path parameters, "
                    + "which would cut the key short");
        }
        return Keys.fromPath(key);
    }
}
