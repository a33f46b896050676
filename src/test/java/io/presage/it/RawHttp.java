package io.presage.it;

import java.io.IOException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * One HTTP exchange as raw bytes over a socket: for requests an HTTP client refuses to send (a URL
 * like {@code /v1/kv/%ZZ}, no Host header, a Content-Length it would not trust). The request must
 * ask the server to close ({@code Connection: close}), which ends the answer.
 */
final class RawHttp {
    private RawHttp() {
    }

    /** The whole answer, status line, headers and body, as ISO-8859-1 text (byte for byte). */
    static String exchange(int port, byte[] request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(20_000);
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    /**
     * Sends a request (text, UTF-8), waits {@code millis} without reading, and closes the connection:
     * a client that gives up before the answer.
     */
    static void hangUp(int port, String request, long millis) throws IOException, InterruptedException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            Thread.sleep(millis);
        }
    }

    /** {@link #exchange(int, byte[])} for a request written as text (UTF-8). */
    static String exchange(int port, String request) throws IOException {
        return exchange(port, request.getBytes(StandardCharsets.UTF_8));
    }
}
