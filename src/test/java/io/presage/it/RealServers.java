package io.presage.it;

import java.util.HashMap;
import java.util.Map;

import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;

/**
 * Starts a real nats-server (JetStream, own store dir, free port) and a fresh database on a real
 * PostgreSQL for a {@code @QuarkusTest}, and points the application at them.
 */
public class RealServers implements QuarkusTestResourceLifecycleManager {
    /**
     * The nats-server of the application under test, for tests that stop and {@linkplain
     * NatsTestServer#restart() restart} it (same port and store). Test classes run one after another
     * and each restricted resource gets its own application, so this is always the current one.
     */
    static volatile NatsTestServer nats;
    private NatsTestServer mine;
    /** A test class's own settings ({@code initArgs}), laid over the ones below. */
    private Map<String, String> extra = Map.of();

    @Override
    public void init(Map<String, String> initArgs) {
        extra = Map.copyOf(initArgs);
    }

    @Override
    public Map<String, String> start() {
        mine = NatsTestServer.start();
        nats = mine;
        PostgresTestServer pg = PostgresTestServer.get();
        String db = pg.createDatabase();
        Map<String, String> cfg = new HashMap<>();
        cfg.put("presage.nats.url", nats.url());
        cfg.put("presage.node-id", "coordinator");
        // Short enough that an append and its one retry fit in the 5 s commit timeout, long enough that
        // a stall of a busy CI machine is not taken for a log outage.
        cfg.put("presage.nats.publish-timeout", "2s");
        cfg.put("presage.group-commit.retries", "1");
        cfg.put("presage.group-commit.timeout", "5s");
        cfg.put("quarkus.datasource.username", pg.username());
        cfg.put("quarkus.datasource.password", pg.password());
        cfg.put("quarkus.datasource.jdbc.url", pg.jdbcUrl(db));
        cfg.put("quarkus.datasource.reactive.url", pg.reactiveUrl(db));
        cfg.put("presage.limits.value-bytes", "4096");
        cfg.put("quarkus.http.test-port", "0");
        cfg.putAll(extra);
        return cfg;
    }

    @Override
    public void stop() {
        // Close this resource's own server: Quarkus may start the next test class's resource
        // (which overwrites the static handle) before stopping this one.
        if (mine != null) {
            mine.close();
        }
    }
}
