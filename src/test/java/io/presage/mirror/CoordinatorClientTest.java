package io.presage.mirror;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.vertx.core.Vertx;

/**
 * A coordinator that does not answer a forwarded write: refused, the request never went out (503,
 * retry is safe); accepted and then silent, it may have acted on it, and the mirror must not say
 * "nothing done" (504).
 */
class CoordinatorClientTest {
    private final Vertx vertx = Vertx.vertx();
    private final List<Socket> held = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (Socket s : held) {
            s.close();
        }
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    private static CoordinatorClient.Unreachable failure(CoordinatorClient c) throws Exception {
        try {
            c.send("PUT", "/v1/kv/k", "1".getBytes()).get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            return assertInstanceOf(CoordinatorClient.Unreachable.class, e.getCause());
        }
        throw new AssertionError("answered");
    }

    @Test
    void aRefusedConnectionMeansTheRequestNeverWentOut() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort(); // closed again: nothing listens there
        }
        CoordinatorClient c = new CoordinatorClient(vertx, "http://127.0.0.1:" + port, Duration.ofMillis(500), new ObjectMapper());
        assertFalse(failure(c).maybeDelivered());
    }

    @Test
    void aCoordinatorThatAcceptsAndStaysSilentMayHaveActedOnTheRequest() throws Exception {
        try (ServerSocket s = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        held.add(s.accept()); // reads nothing, answers nothing
                    }
                } catch (Exception e) {
                    // closed
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            CoordinatorClient c = new CoordinatorClient(vertx, "http://127.0.0.1:" + s.getLocalPort(), Duration.ofMillis(500),
                    new ObjectMapper());
            CoordinatorClient.Unreachable u = failure(c);
            assertTrue(u.maybeDelivered(), u.getMessage());
        }
    }
}
