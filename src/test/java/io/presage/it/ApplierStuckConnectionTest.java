package io.presage.it;

import static io.presage.it.Http.put;
import static io.presage.it.Http.sequenceOf;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import org.junit.jupiter.api.Test;

import io.presage.apply.Applier;
import io.presage.testing.PostgresTestServer;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.ResourceArg;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;

/**
 * The applier's database connection stops answering without being reset (a network path that died, a
 * server replaced behind its address): held here by a proxy that keeps the applier's statement. The
 * applier waited on it for good, nothing more was applied (the coordinator's memory filling until every
 * commit got 503) and readiness stayed UP. Now the wait is bounded by presage.apply.transaction-timeout,
 * and the applier starts again on another connection and applies the commit.
 */
@QuarkusTest
@QuarkusTestResource(value = ApplierStuckConnectionTest.ProxiedStore.class, restrictToAnnotatedClass = true, initArgs =
        @ResourceArg(name = "presage.apply.transaction-timeout", value = "2s"))
class ApplierStuckConnectionTest {
    /** RealServers with the application's reactive connections going through a {@link ReplyLosingPgProxy}. */
    public static class ProxiedStore extends RealServers {
        static volatile ReplyLosingPgProxy proxy;

        @Override
        public Map<String, String> start() {
            Map<String, String> cfg = new HashMap<>(super.start());
            try {
                proxy = new ReplyLosingPgProxy(PostgresTestServer.get().port());
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
            String url = cfg.get("quarkus.datasource.reactive.url");
            String db = url.substring(url.lastIndexOf('/') + 1);
            cfg.put("quarkus.datasource.reactive.url", "postgresql://127.0.0.1:" + proxy.port() + "/" + db);
            return cfg;
        }

        @Override
        public void stop() {
            ReplyLosingPgProxy p = proxy;
            if (p != null) {
                p.release();
                p.close();
            }
            super.stop();
        }
    }

    @Inject
    Applier applier;

    @Test
    void anApplierWhoseConnectionStopsAnsweringStartsAgainAndAppliesTheCommit() throws Exception {
        Http.awaitReady(java.time.Duration.ofSeconds(60));
        Response before = put("stuck-before", "1");
        assertEquals(200, before.statusCode(), before.asString());
        Http.awaitApplied(sequenceOf(before));

        ReplyLosingPgProxy proxy = ProxiedStore.proxy;
        proxy.arm("stuck-held-key", 1, ReplyLosingPgProxy.Loss.HELD_STATEMENT);
        try {
            Response held = put("stuck-held-key", "2");
            assertEquals(200, held.statusCode(), "committed to the log: " + held.asString());
            long seq = sequenceOf(held);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (applier.appliedSequence() < seq && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(1, proxy.lost.get(), "the applier's statement was held");
            assertTrue(applier.appliedSequence() >= seq, "applied " + applier.appliedSequence() + ", not " + seq
                    + ": the applier still waits on a connection that never answers");
            assertEquals("2", AppDatabase.storedValue("stuck-held-key"));
        } finally {
            proxy.release();
        }
    }
}
