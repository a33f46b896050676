package io.presage.api;

import java.util.Map;

import jakarta.ws.rs.core.Response;

import io.smallrye.mutiny.Uni;

/**
 * API v1 as one role answers it. The role is a runtime profile of one jar, so resources cannot be
 * chosen at build time: {@link NodeResource} owns the paths and delegates to the implementation of
 * the role this node started in ({@code presage.role}).
 */
public interface NodeApi {

    /**
     * Raw query options of a read ({@code null} = absent) and the {@code Presage-Session} header the
     * prediction engine learns from; only a mirror interprets them.
     */
    record ReadParams(String consistency, String minConfidence, String after, String timeoutMs, String session) {
        public ReadParams(String consistency, String minConfidence, String after, String timeoutMs) {
            this(consistency, minConfidence, after, timeoutMs, null);
        }
    }

    Uni<Response> get(String key, ReadParams params);

    Uni<Response> batch(byte[] body, ReadParams params);

    /** {@code speculative}: the raw {@code ?speculative=} option (null = absent); only a mirror interprets it. */
    Uni<Response> put(String key, byte[] body, String speculative);

    Uni<Response> delete(String key, String speculative);

    Uni<Response> transaction(byte[] body, String speculative);

    Uni<Response> procedure(String name, String id, byte[] body, String speculative);

    /** {@code GET /v1/transactions/{id}}: what became of the transaction (speculative at a mirror) with that id. */
    Uni<Response> transactionOutcome(String id);

    Map<String, Object> status();

    Uni<Response> reconcile(String key);

    Uni<Response> reconcileAll(byte[] body);
}
