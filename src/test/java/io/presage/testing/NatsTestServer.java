package io.presage.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.logging.Level;
import java.util.stream.Stream;

import io.nats.NatsServerRunner;

/**
 * A real {@code nats-server} with JetStream, started by a test on a free loopback port with its own
 * temporary store directory (never the shared server on 4222).
 *
 * <p>{@link #restart()} brings the server back on the same port with the same store directory, so
 * file-stored streams and durable consumers survive it, as after a crash and restart in production;
 * clients that reconnect forever find it again at the same URL. {@link #close()} stops the server and
 * deletes the store.
 *
 * <p>The binary is {@code $nats_server_path} if set, else Debian's {@code /usr/sbin/nats-server}, else
 * {@code nats-server} on the PATH. It listens on 127.0.0.1 only ({@code --addr}); the store directory
 * is passed as {@code --store_dir} because jnats-server-runner 2.0.2 leaves JetStream's default
 * ({@code /tmp/nats/jetstream}), which every test server would share.
 */
public final class NatsTestServer implements AutoCloseable {

    private static final String DEBIAN_BINARY = "/usr/sbin/nats-server";
    private static final int START_ATTEMPTS = 3;
    private static final long READY_TIMEOUT_MILLIS = 20_000;

    static {
        // The server's own log (banner, JetStream recovery) at INFO is noise in test output; the runner
        // still reports startup failures with the server's output in the exception.
        NatsServerRunner.setDefaultOutputLevel(Level.parse(System.getProperty("natsTestServerLogLevel", "SEVERE")));
    }

    private final int port;
    private final Path storeDir;
    private NatsServerRunner runner;

    private NatsTestServer(int port, Path storeDir) {
        this.port = port;
        this.storeDir = storeDir;
    }

    /** Starts a JetStream-enabled server on a free loopback port with a fresh store directory. */
    public static NatsTestServer start() {
        RuntimeException last = null;
        for (int attempt = 0; attempt < START_ATTEMPTS; attempt++) {
            try {
                NatsTestServer server = new NatsTestServer(freeLoopbackPort(), Files.createTempDirectory("presage-nats-"));
                try {
                    server.launch();
                    return server;
                } catch (RuntimeException e) {
                    // Most likely another process (builds share this machine) took the port meanwhile.
                    server.close();
                    last = e;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        throw last;
    }

    /** {@code nats://127.0.0.1:<port>}; stays valid across {@link #restart()}. */
    public String url() {
        return "nats://127.0.0.1:" + port;
    }

    public int port() {
        return port;
    }

    public Path storeDir() {
        return storeDir;
    }

    public synchronized boolean isRunning() {
        return runner != null;
    }

    /** Stops the server gracefully (SIGTERM: JetStream flushes its store); the store directory stays. */
    public synchronized void stop() {
        if (runner == null) {
            return;
        }
        try {
            runner.shutdown(true);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while stopping nats-server", e);
        } finally {
            runner = null;
        }
    }

    /** Stops the server if running and starts it again on the same port with the same store. */
    public synchronized void restart() {
        stop();
        launch();
    }

    @Override
    public synchronized void close() {
        stop();
        try (Stream<Path> files = Files.walk(storeDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary directory is not worth failing a test for
        }
    }

    /**
     * Starts the process and waits until it accepts connections, for up to {@link #READY_TIMEOUT_MILLIS}:
     * a JetStream server recovering its store on a loaded 2-core machine can take seconds.
     *
     * <p>The wait is ours, not the runner's: jnats-server-runner 2.0.2 closes its socket channel after
     * the first refused connection and then retries {@code connect} on that closed channel, which
     * throws {@code ClosedChannelException} at once, so its "connect check tries" never retry and a
     * server not listening within the first process check (50 ms here) was reported as failing to
     * start. That made start-ups flaky under load, and {@link #restart()}, which has no second
     * attempt, failed outright. So the runner only starts the process (no connect check) and this
     * method polls the port with a fresh socket each time.
     */
    private synchronized void launch() {
        try {
            runner = NatsServerRunner.builder()
                    .executablePath(binary())
                    .port(port)
                    .jetstream(true)
                    .customArgs(new String[] {"--addr", "127.0.0.1", "--store_dir", storeDir.toString()})
                    .processCheckWait(50L)
                    .processCheckTries(1)
                    .connectCheckTries(0)
                    .fullErrorReportOnStartup(true)
                    .build();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start nats-server on port " + port, e);
        }
        if (!awaitListening()) {
            stop();
            throw new IllegalStateException("nats-server did not accept connections on 127.0.0.1:" + port
                    + " within " + READY_TIMEOUT_MILLIS + " ms");
        }
    }

    private boolean awaitListening() {
        long deadline = System.nanoTime() + READY_TIMEOUT_MILLIS * 1_000_000L;
        InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        while (System.nanoTime() < deadline) {
            try (Socket socket = new Socket()) {
                socket.connect(address, 1_000);
                return true;
            } catch (IOException notYet) {
                try {
                    Thread.sleep(25);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return false;
    }

    private static String binary() {
        String fromEnv = System.getenv("nats_server_path");
        if (fromEnv != null && !fromEnv.isBlank()) {
            return fromEnv;
        }
        return Files.isExecutable(Path.of(DEBIAN_BINARY)) ? DEBIAN_BINARY : "nats-server";
    }

    private static int freeLoopbackPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            socket.setReuseAddress(true);
            return socket.getLocalPort();
        }
    }
}
