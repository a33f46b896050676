package io.presage.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;

import io.presage.testing.NatsTestServer;
import io.presage.testing.PostgresTestServer;

/**
 * One node of the packaged application ({@code target/quarkus-app/quarkus-run.jar}) as a separate
 * process, started as the launcher starts it: only the environment given here configures it (nothing
 * {@code QUARKUS_*} or {@code PRESAGE_*} leaks in from Maven's environment). Each start writes
 * {@code <logDir>/<name>-<n>.log}. {@link #kill()} is SIGKILL (no shutdown hook, nothing flushed);
 * {@link #stop()} is SIGTERM, then SIGKILL if it lingers. A JVM shutdown hook kills a node that a
 * failed or interrupted test run left behind.
 */
final class NodeProcess {
    static final Path BASE_DIR = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
    static final Path JAR = BASE_DIR.resolve("target/quarkus-app/quarkus-run.jar");

    private static final HttpClient HTTP = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .proxy(HttpClient.Builder.NO_PROXY)
            .connectTimeout(Duration.ofSeconds(2))
            .build();

    final String name;
    final int port;
    private final Map<String, String> env;
    private final Path logDir;
    private final Thread hook;
    private volatile Process process;
    private int generation;

    private NodeProcess(String name, int port, Map<String, String> env, Path logDir) {
        this.name = name;
        this.port = port;
        this.env = Map.copyOf(env);
        this.logDir = logDir;
        this.hook = new Thread(this::killQuietly, name + "-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** A coordinator on a free loopback port, with its own database {@code db}. */
    static NodeProcess coordinator(NatsTestServer nats, PostgresTestServer pg, String db, Path logDir) throws IOException {
        int port = freeLoopbackPort();
        return new NodeProcess("coordinator", port, env("coordinator", "coordinator", port, nats, pg, db), logDir);
    }

    /** A coordinator named {@code nodeId}, with more environment (e.g. the lease switched on). */
    static NodeProcess coordinator(String nodeId, NatsTestServer nats, PostgresTestServer pg, String db, Path logDir,
                                   Map<String, String> extra) throws IOException {
        int port = freeLoopbackPort();
        Map<String, String> e = env("coordinator", nodeId, port, nats, pg, db);
        e.putAll(extra);
        return new NodeProcess(nodeId, port, e, logDir);
    }

    /** The environment that switches the coordinator lease on with time-to-live {@code ttl}. */
    static Map<String, String> leaseOn(Duration ttl) {
        return Map.of("PRESAGE_LEASE_ENABLED", "true", "PRESAGE_LEASE_TTL", ttl.toMillis() + "ms");
    }

    /** A mirror following {@code coordinator}, on a free loopback port, with its own database {@code db}. */
    static NodeProcess mirror(String nodeId, NodeProcess coordinator, NatsTestServer nats, PostgresTestServer pg, String db,
                              Path logDir) throws IOException {
        return mirror(nodeId, coordinator, nats, pg, db, logDir, Map.of());
    }

    /** As above, with more environment (e.g. a shorter forward timeout). */
    static NodeProcess mirror(String nodeId, NodeProcess coordinator, NatsTestServer nats, PostgresTestServer pg, String db,
                              Path logDir, Map<String, String> extra) throws IOException {
        int port = freeLoopbackPort();
        Map<String, String> e = env("mirror", nodeId, port, nats, pg, db);
        e.put("PRESAGE_MIRROR_COORDINATOR_URL", "http://127.0.0.1:" + coordinator.port);
        e.putAll(extra);
        return new NodeProcess(nodeId, port, e, logDir);
    }

    /** The node's environment, as {@code scripts/infra.sh}'s infra_start_node sets it. */
    static Map<String, String> env(String profile, String nodeId, int port, NatsTestServer nats, PostgresTestServer pg, String db) {
        Map<String, String> e = new HashMap<>();
        e.put("QUARKUS_PROFILE", profile);
        e.put("QUARKUS_HTTP_HOST", "127.0.0.1");
        e.put("QUARKUS_HTTP_PORT", Integer.toString(port));
        e.put("PRESAGE_NODE_ID", nodeId);
        e.put("PRESAGE_NATS_URL", nats.url());
        e.put("QUARKUS_DATASOURCE_USERNAME", pg.username());
        e.put("QUARKUS_DATASOURCE_PASSWORD", pg.password());
        e.put("QUARKUS_DATASOURCE_JDBC_URL", "jdbc:postgresql://127.0.0.1:" + pg.port() + "/" + db);
        e.put("QUARKUS_DATASOURCE_REACTIVE_URL", "postgresql://127.0.0.1:" + pg.port() + "/" + db);
        return e;
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    /** The log of the node's current (or last) run. */
    synchronized Path log() {
        return logDir.resolve(name + "-" + generation + ".log");
    }

    /** Starts the node (again: same port, database and NATS). */
    synchronized void start() throws IOException {
        assertTrue(Files.isRegularFile(JAR), JAR + " is missing: this test runs after package (./mvnw verify)");
        Files.createDirectories(logDir);
        generation++;
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // C1 only and the serial collector, as the launcher runs its short-lived clients: a node here lives
        // for seconds, under light load, beside others on two cores, and its start-up was most of many tests'
        // time (median 8.7 s, C2 compiling in the background). Measured on three IT classes, twice each:
        // starts 4.0-8.2 s against 6.1-12.3 s, the classes 61-62 s against 75-84 s. What the tests check
        // does not depend on the JIT tier; ./presage up runs nodes with the JVM's defaults.
        ProcessBuilder pb = new ProcessBuilder(java, "-Xmx512m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "-jar", JAR.toString())
                .directory(BASE_DIR.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log().toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("QUARKUS_") || k.startsWith("PRESAGE_"));
        pb.environment().putAll(env);
        process = pb.start();
    }

    /** Polls {@code /q/health/ready} until 200; fails at once if the process exits. */
    void awaitReady(Duration max) throws InterruptedException {
        Process p = process;
        long deadline = System.nanoTime() + max.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                fail(name + " exited with " + p.exitValue() + " before it was ready; see " + logDir);
            }
            try {
                HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(uri("/q/health/ready")).timeout(Duration.ofSeconds(5))
                        .GET().build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
                last = r.statusCode() + " " + r.body();
            } catch (IOException e) {
                last = e.toString();
            }
            Thread.sleep(200);
        }
        fail(name + " was not ready after " + max + " (last: " + last + "); see " + logDir);
    }

    /**
     * Polls {@code /q/health/ready} until its check {@code name} satisfies {@code done} (whatever the overall
     * status); returns that check.
     */
    JsonNode awaitReadinessCheck(String name, java.util.function.Predicate<JsonNode> done, Duration max)
            throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                JsonHttp.Answer a = JsonHttp.send(JsonHttp.get(uri("/q/health/ready")));
                last = a.toString();
                for (JsonNode check : a.json().path("checks")) {
                    if (name.equals(check.path("name").asText()) && done.test(check)) {
                        return check;
                    }
                }
            } catch (java.io.UncheckedIOException e) {
                last = e.getMessage();
            }
            Thread.sleep(200);
        }
        throw new AssertionError(this.name + ": readiness check " + name + " not as awaited in " + max + "; last: " + last);
    }

    /**
     * Polls a coordinator's {@code /v1/status} until its applier has applied everything it committed;
     * returns that status.
     */
    JsonNode awaitApplied(Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        JsonNode s = null;
        while (System.nanoTime() < deadline) {
            s = JsonHttp.send(JsonHttp.get(uri("/v1/status"))).json();
            long committed = s.path("committedSequence").asLong();
            if (committed > 0 && s.path("appliedSequence").asLong() == committed) {
                return s;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(name + "'s applier did not catch up with the log: " + s);
    }

    /** Polls {@code /v1/status} until the node has applied the log up to {@code sequence} at least. */
    void awaitAppliedUpTo(long sequence, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        JsonNode s = null;
        while (System.nanoTime() < deadline) {
            s = JsonHttp.send(JsonHttp.get(uri("/v1/status"))).json();
            if (s.path("appliedSequence").asLong() >= sequence) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(name + " did not apply up to sequence " + sequence + " in " + max + ": " + s);
    }

    /** {@code GET /v1/status}, as JSON. */
    JsonNode status() {
        return JsonHttp.send(JsonHttp.get(uri("/v1/status"))).json();
    }

    /** The value of {@code key}, a number, read here ({@code GET /v1/kv/{key}}); fails unless the read is 200. */
    long number(String key) {
        JsonHttp.Answer r = JsonHttp.send(JsonHttp.get(uri("/v1/kv/" + key)));
        assertEquals(200, r.status(), name + ": " + key + ": " + r);
        return r.json().path("value").asLong();
    }

    /** Polls {@code /v1/status} until {@code done} holds for it (for up to {@code max}); fails saying {@code what}. */
    void awaitStatus(java.util.function.Predicate<JsonNode> done, String what, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        String last = "no answer";
        while (System.nanoTime() < deadline) {
            try {
                JsonNode s = JsonHttp.send(JsonHttp.get(uri("/v1/status"))).json();
                if (done.test(s)) {
                    return;
                }
                last = s.toString();
            } catch (java.io.UncheckedIOException e) {
                last = e.getMessage();
            }
            Thread.sleep(100);
        }
        throw new AssertionError(name + " not " + what + " in " + max + "; last: " + last);
    }

    /** Sends a signal by name ({@code STOP}, {@code CONT}) to the node's process. */
    void signal(String name) throws IOException, InterruptedException {
        Process k = new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).inheritIO().start();
        assertEquals(0, k.waitFor(), "kill -" + name + " " + process.pid());
    }

    /** The process's exit code once it has exited within {@code max}; fails if it is still running. */
    int awaitExit(Duration max) throws InterruptedException {
        Process p = process;
        assertTrue(p.waitFor(max.toMillis(), TimeUnit.MILLISECONDS), name + " still running after " + max);
        return p.exitValue();
    }

    boolean alive() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /** SIGKILL (Process.destroyForcibly on Linux) and wait for the exit; asserts it died of the signal. */
    void kill() throws InterruptedException {
        Process victim = process;
        victim.destroyForcibly();
        assertTrue(victim.waitFor(20, TimeUnit.SECONDS), name + ": the killed process did not exit");
        assertEquals(137, victim.exitValue(), name + " must die of SIGKILL (128 + 9)");
    }

    /** Stops the nodes in the order given, skipping those never started (a setup that failed half-way). */
    static void stopAll(NodeProcess... nodes) throws InterruptedException {
        for (NodeProcess n : nodes) {
            if (n != null) {
                n.stop();
            }
        }
    }

    /** SIGTERM, then SIGKILL if it lingers; forgets the shutdown hook. */
    void stop() throws InterruptedException {
        Process p = process;
        if (p != null && p.isAlive()) {
            p.destroy();
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // the JVM is already shutting down: the hook runs anyway
        }
    }

    private void killQuietly() {
        Process p = process;
        if (p != null && p.isAlive()) {
            p.destroyForcibly();
        }
    }

    static int freeLoopbackPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }
}
