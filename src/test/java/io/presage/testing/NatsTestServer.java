package io.presage.testing;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.logging.Level;
import java.util.stream.Stream;

import io.nats.NatsServerRunner;

/**
 * A real {@code nats-server} with JetStream, started by a test on a free loopback port with its own
 * temporary store directory (never the shared server on 4222).
 *
 * <p>{@link #restart()} brings the server back on the same port with the same store directory, so
 * file-stored streams and durable consumers survive it, as after a crash and restart in production;
 * clients that reconnect forever find it again at the same URL. {@link #pause()} / {@link #resume()}
 * freeze and continue the process (a hung server: connections stay open, nothing answers).
 * {@link #close()} stops the server and deletes the store.
 *
 * <p>The binary is {@code $nats_server_path} if set, else Debian's {@code /usr/sbin/nats-server}, else
 * {@code nats-server} on the PATH. It listens on 127.0.0.1 only ({@code --addr}); the store directory
 * is passed as {@code --store_dir} because jnats-server-runner 2.0.2 leaves JetStream's default
 * ({@code /tmp/nats/jetstream}), which every test server would share. Each server is named after its
 * store directory ({@code --server_name}), and a start counts only once the port answers with that
 * name: another build on the machine may take a port between our choosing it and our server binding it.
 */
public final class NatsTestServer implements AutoCloseable {

    private static final String DEBIAN_BINARY = "/usr/sbin/nats-server";
    private static final int START_ATTEMPTS = 3;
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(15);

    static {
        // The server's own log (banner, JetStream recovery) at INFO is noise in test output; the runner
        // still reports startup failures with the server's output in the exception. -Dpresage.nats.log=INFO
        // shows it.
        NatsServerRunner.setDefaultOutputLevel(Level.parse(System.getProperty("presage.nats.log", "SEVERE")));
    }

    private final int port;
    private final Path storeDir;
    private NatsServerRunner runner;
    private boolean paused;

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
                    // Safety net: a test that forgets close() must not leave a nats-server behind.
                    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "nats-test-server-stop"));
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
        if (paused) {
            resume(); // a stopped process would never act on SIGTERM, and shutdown(true) would wait forever
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

    /**
     * Freezes the server process (SIGSTOP): its sockets stay open but nothing is answered, like a server
     * that hangs or a network that silently drops packets. {@link #resume()} continues it.
     */
    public synchronized void pause() {
        signal("-STOP");
        paused = true;
        // The kernel stops the process as it delivers the signal, which kill(2) does not wait for; tests
        // that time what a frozen server does start their clocks now. Also says so if the signal went
        // to a process that does not stop (a GroupCommitAckOrderTest run once saw an ack while "frozen").
        long deadline = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        while (!frozen()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("nats-server " + serverPid() + " not stopped 2 s after SIGSTOP: " + processState());
            }
            Thread.onSpinWait();
        }
    }

    /** Whether the server process is stopped now, as the kernel reports it (state T in /proc/PID/stat). */
    public synchronized boolean frozen() {
        return processState().startsWith("T");
    }

    /** The state field of /proc/PID/stat (R, S, T, Z, ...), or why it could not be read. */
    private String processState() {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(serverPid()), "stat"));
            return stat.substring(stat.lastIndexOf(')') + 2).split(" ", 2)[0];
        } catch (IOException | RuntimeException e) {
            return "unknown (" + e + ")";
        }
    }

    /** Continues a {@linkplain #pause() paused} server (SIGCONT); it then handles what queued up. */
    public synchronized void resume() {
        signal("-CONT");
        paused = false;
    }

    private void signal(String signal) {
        if (runner == null) {
            throw new IllegalStateException("not running");
        }
        long pid = serverPid();
        try {
            Process kill = new ProcessBuilder("kill", signal, Long.toString(pid)).inheritIO().start();
            if (kill.waitFor() != 0) {
                throw new IllegalStateException("kill " + signal + " " + pid + " failed");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Our own child process, recognised by its unique store directory (the runner hides the Process). */
    private long serverPid() {
        String store = storeDir.toString();
        return ProcessHandle.current().children()
                .filter(p -> p.info().arguments().map(args -> List.of(args).contains(store)).orElse(false))
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("no nats-server child process with store " + store))
                .pid();
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
     * Starts the process and waits until it accepts connections. jnats-server-runner 2.0.2's own check
     * is switched off ({@code connectCheckTries(0)}): when its first connection attempt comes too early
     * it retries on the socket it has just closed and reports a failed start (ClosedChannelException),
     * which on a loaded machine happened several times a run.
     */
    private synchronized void launch() {
        try {
            runner = NatsServerRunner.builder()
                    .executablePath(binary())
                    .port(port)
                    .jetstream(true)
                    .customArgs(new String[] {"--addr", "127.0.0.1", "--store_dir", storeDir.toString(), "--server_name", serverName()})
                    .processCheckWait(20L)
                    .processCheckTries(50)
                    .connectCheckTries(0)
                    .fullErrorReportOnStartup(true)
                    .build();
        } catch (IOException e) {
            throw new UncheckedIOException("could not start nats-server on port " + port, e);
        }
        awaitListening();
    }

    /** The server listens only once JetStream has recovered its store, so this also waits for that. */
    private void awaitListening() {
        long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
        while (true) {
            try (Socket probe = new Socket()) {
                probe.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 250);
                ensureOurs(probe);
                return;
            } catch (IOException notYet) {
                if (System.nanoTime() > deadline) {
                    stop();
                    throw new IllegalStateException("nats-server did not listen on 127.0.0.1:" + port
                            + " within " + READY_TIMEOUT, notYet);
                }
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop();
                throw new IllegalStateException("interrupted while waiting for nats-server", e);
            }
        }
    }

    /**
     * Whether the server that answered on our port is the one we started: its first line (INFO) names
     * it. The port was free when {@link #freeLoopbackPort} chose it, but another process (a second build
     * on this machine) may have bound it before our server did; ours then fails to bind and exits, and
     * the test would go on against the other process's server, which a pause() here does not freeze.
     * Throwing makes {@link #start} try another port.
     */
    private void ensureOurs(Socket probe) throws IOException {
        probe.setSoTimeout(5_000);
        BufferedReader in = new BufferedReader(new InputStreamReader(probe.getInputStream(), StandardCharsets.UTF_8));
        String info = in.readLine();
        if (info == null || !info.contains("\"server_name\":\"" + serverName() + "\"")) {
            stop();
            throw new IllegalStateException("127.0.0.1:" + port + " is not the nats-server started here (" + serverName()
                    + "): another process took the port first; it answered " + info);
        }
    }

    /** Unique per server: the store directory's name. */
    private String serverName() {
        return "presage-test-" + storeDir.getFileName();
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
