package io.presage;

import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * The entry point: Quarkus's own, after one setting that must be made before the HTTP server
 * starts. Quarkus checks every request's URI with {@code java.net.URI} in front of the router and
 * answers a bare 400 with an empty body when it does not parse ({@code /v1/kv/%ZZ}): not the API's
 * JSON error, and no handler of ours can change it. With that check off, such a request reaches the
 * router, which refuses it with a failure {@link io.presage.api.RouterFailures} answers in JSON, and
 * keys and ids from the URL are decoded strictly by {@link io.presage.api.Keys} as before.
 */
@QuarkusMain
public final class Main {
    /** Read once, by Quarkus's request handler, when the HTTP server starts. */
    static final String NO_URI_CHECK = "vertx.disableURIValidation";

    private Main() {
    }

    public static void main(String... args) {
        if (System.getProperty(NO_URI_CHECK) == null) {
            System.setProperty(NO_URI_CHECK, "true");
        }
        Quarkus.run(args);
    }
}
