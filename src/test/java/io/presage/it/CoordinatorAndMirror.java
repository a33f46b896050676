package io.presage.it;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Function;

import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;

/**
 * A packaged coordinator and one packaged mirror, each with its own database on the shared PostgreSQL,
 * on a nats-server of their own: the set-up of the process tests that need one of each. Started ready
 * (or stopped again, if either does not get there), closed by stopping the nodes, then the server.
 */
final class CoordinatorAndMirror implements AutoCloseable {
    final NatsTestServer nats = NatsTestServer.start();
    final PostgresTestServer pg = PostgresTestServer.get();
    final String mirrorDb = pg.createDatabase();
    NodeProcess coordinator;
    NodeProcess mirror;

    private CoordinatorAndMirror() {
    }

    /** {@code mirrorEnv}: the mirror's extra settings, given its database's name. */
    static CoordinatorAndMirror start(Path logs, Duration ready, Map<String, String> coordinatorEnv,
            Function<String, Map<String, String>> mirrorEnv) throws Exception {
        CoordinatorAndMirror nodes = new CoordinatorAndMirror();
        try {
            nodes.coordinator = NodeProcess.coordinator("coordinator", nodes.nats, nodes.pg, nodes.pg.createDatabase(), logs,
                    coordinatorEnv);
            nodes.mirror = NodeProcess.mirror("mirror1", nodes.coordinator, nodes.nats, nodes.pg, nodes.mirrorDb, logs,
                    mirrorEnv.apply(nodes.mirrorDb));
            nodes.coordinator.start();
            nodes.mirror.start();
            nodes.coordinator.awaitReady(ready);
            nodes.mirror.awaitReady(ready);
            return nodes;
        } catch (Exception | Error e) {
            nodes.close();
            throw e;
        }
    }

    @Override
    public void close() throws InterruptedException {
        NodeProcess.stopAll(mirror, coordinator);
        nats.close();
    }
}
