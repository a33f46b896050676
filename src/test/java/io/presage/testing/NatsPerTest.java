package io.presage.testing;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A nats-server of its own for each test (register as an instance field with
 * {@code @RegisterExtension}), and the clients the test opened on it, closed after it in reverse order
 * before the server stops.
 */
public final class NatsPerTest implements BeforeEachCallback, AfterEachCallback {
    private NatsTestServer server;
    private final List<AutoCloseable> closeAfter = new ArrayList<>();

    @Override
    public void beforeEach(ExtensionContext context) {
        server = NatsTestServer.start();
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        try {
            for (int i = closeAfter.size() - 1; i >= 0; i--) {
                closeAfter.get(i).close();
            }
        } finally {
            closeAfter.clear();
            server.close();
        }
    }

    public NatsTestServer server() {
        return server;
    }

    /** Closes {@code c} after the test, before the server stops; returns it. */
    public <T extends AutoCloseable> T closeAfter(T c) {
        closeAfter.add(c);
        return c;
    }
}
