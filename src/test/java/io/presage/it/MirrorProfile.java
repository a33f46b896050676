package io.presage.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTestProfile;

/**
 * The node as the launcher starts a mirror: the {@code mirror} configuration profile, its own node id
 * and database, real NATS and PostgreSQL. The coordinator URL is a loopback port nobody listens on
 * (the coordinator is down): forwarding and reconciliation with a live coordinator need a second
 * process and are tested end to end with the packaged application.
 */
public class MirrorProfile implements QuarkusTestProfile {
    /** Where the mirror under test appends its resolved calibration samples. */
    static final java.nio.file.Path CALIBRATION_LOG = java.nio.file.Path.of("target", "mirror-test",
            "calibration-" + ProcessHandle.current().pid() + ".jsonl").toAbsolutePath();

    private final Class<? extends QuarkusTestResourceLifecycleManager> servers;

    public MirrorProfile() {
        this(Servers.class);
    }

    /**
     * The {@code mirror} configuration profile on other servers. Quarkus starts one application per
     * profile class, so a subclass also gives a test an application of its own (with these servers or
     * others) that tests of other profiles do not share.
     */
    protected MirrorProfile(Class<? extends QuarkusTestResourceLifecycleManager> servers) {
        this.servers = servers;
    }

    @Override
    public String getConfigProfile() {
        return "mirror";
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(servers));
    }

    /** RealServers, plus the mirror's settings. */
    public static class Servers extends RealServers {
        @Override
        public Map<String, String> start() {
            Map<String, String> cfg = super.start();
            cfg.put("presage.node-id", "mirror1");
            cfg.put("presage.mirror.coordinator-url", "http://127.0.0.1:" + closedPort());
            cfg.put("presage.mirror.forward-timeout", "2s");
            cfg.put("presage.mirror.max-lag-seconds", "1");
            cfg.put("presage.mirror.calibration-sample-rate", "1.0");
            cfg.put("presage.mirror.calibration-margin", "50ms");
            cfg.put("presage.mirror.calibration-log", CALIBRATION_LOG.toString());
            cfg.put("presage.apply.cache-keys", "64"); // small: eviction and refills happen in the tests
            cfg.put("presage.mirror.speculation-max-pending-bytes", "64K"); // reached in MirrorApiTest
            return cfg;
        }
    }

    /** A loopback port that was free a moment ago: connections to it are refused. */
    static int closedPort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
