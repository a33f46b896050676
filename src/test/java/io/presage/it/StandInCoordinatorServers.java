package io.presage.it;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * Real NATS and PostgreSQL for a mirror under test, whose coordinator is a stand-in HTTP server on a
 * loopback port: for the answers a real coordinator gives only in a window a test cannot hold open. It
 * answers {@code /v1/ping}; a subclass adds what else its test needs ({@link #contexts}).
 */
abstract class StandInCoordinatorServers extends RealServers {
    private HttpServer fake;

    /** Adds the stand-in coordinator's paths to {@code server}. */
    protected abstract void contexts(HttpServer server);

    @Override
    public Map<String, String> start() {
        Map<String, String> cfg = super.start();
        try {
            fake = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        fake.createContext("/v1/ping", ex -> answer(ex, 200, "{}"));
        contexts(fake);
        fake.start();
        cfg.put("presage.node-id", "mirror1");
        cfg.put("presage.mirror.coordinator-url", "http://127.0.0.1:" + fake.getAddress().getPort());
        cfg.put("presage.mirror.forward-timeout", "2s");
        return cfg;
    }

    /** Answers {@code ex} with {@code status} and a JSON {@code body}. */
    static void answer(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().add("Content-Type", "application/json");
        ex.sendResponseHeaders(status, b.length);
        try (OutputStream o = ex.getResponseBody()) {
            o.write(b);
        }
    }

    @Override
    public void stop() {
        if (fake != null) {
            fake.stop(0);
        }
        super.stop();
    }
}
