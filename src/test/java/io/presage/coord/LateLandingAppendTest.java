package io.presage.coord;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.presage.certify.TxnRequest;
import io.presage.log.JetStreamLog;

/**
 * An append whose outcome is unknown (no ack) can land later, after group commit has found the
 * stream's end unchanged (a clustered stream committing a proposal after its quorum comes back, a
 * server processing a replaced connection's buffered bytes). Had group commit carried on, the
 * transaction sent again (a client's retry under the same id) would be certified afresh against
 * state that has since taken a conflicting, not yet appended transaction and answered ABORTED, a
 * definite "not committed"; then the first append lands, the conflicting one is fenced, and the
 * transaction told ABORTED is in the log. Group commit asks for a rebuild instead (recovery appends
 * a barrier where the stray would land), and refuses commits (503, retry is safe) until then.
 *
 * <p>A proxy between the log client and nats-server holds back the publishes to the log's subject
 * (everything else, the stream-info request included, passes), and lets them through on release.
 */
class LateLandingAppendTest {

    @Test
    void anAppendWithoutAnAckStopsCommitsUntilTheCertifierIsRebuiltSoARetryIsNeverToldAborted() throws Exception {
        try (HeldPipeline p = new HeldPipeline(0)) {
            long last = p.start;
            // X: read k (absent, version 0), write k; under client id "X".
            TxnSpec x = new TxnSpec("X", List.of(new TxnSpec.Read("k", 0)), List.of(new TxnSpec.Write("k", "1".getBytes(UTF_8))), "c");
            TxnRequest xr = new TxnRequest(new String[] {"k"}, new long[] {0}, new String[] {"k"});

            p.proxy.hold = true;
            CommitOutcome first = p.submit(x, xr).get(30, TimeUnit.SECONDS);
            assertInstanceOf(CommitOutcome.Unknown.class, first, "no ack: outcome unknown (504)");
            Thread.sleep(300); // group commit checks the stream's end (through the proxy: unchanged) and carries on

            // Y: another client's blind write of k, certified now; its append is held back too.
            CompletableFuture<CommitOutcome> yAnswer = p.submitBlind("k", "2");
            Thread.sleep(100);

            // X's client retries under the same id (the engine forgot the id on the 504, so it is certified again).
            CommitOutcome retry = p.submit(x, xr).get(30, TimeUnit.SECONDS);

            p.proxy.release(); // X's first append reaches the stream now, then Y's
            CommitOutcome yOutcome = yAnswer.get(30, TimeUnit.SECONDS);
            long end = p.log.lastSequence();

            assertEquals(last + 1, end, "one message landed");
            assertFalse(yOutcome instanceof CommitOutcome.Committed, "Y was fenced by X's late append: " + yOutcome);
            // X is in the log (the only message after `last`), yet its retry was answered:
            assertFalse(retry instanceof CommitOutcome.Aborted,
                    "X's retry was told ABORTED (409, not committed), but X's first append landed at " + end);
            assertInstanceOf(CommitOutcome.Unavailable.class, retry, "refused until the rebuild, not certified");
            assertInstanceOf(CommitOutcome.Unavailable.class, yOutcome);
            assertEquals(1, p.resyncs.size(), p.resyncs.toString());
            assertTrue(p.resyncs.get(0).contains("may still land"), p.resyncs.get(0));
        }
    }

    /** Forwards a NATS client connection to the server, holding back HPUB/PUB frames to mirror.log.* while {@link #hold}. */
    static final class HoldingProxy implements AutoCloseable {
        volatile boolean hold;
        /** When set, which log publishes are held, by the frame's text (headers included), instead of {@link #hold}. */
        volatile java.util.function.Predicate<String> holdIf;
        private final ServerSocket listener;
        private final int serverPort;
        private final List<Socket> sockets = new CopyOnWriteArrayList<>();
        private final List<byte[]> held = new ArrayList<>();
        private OutputStream toServer;

        HoldingProxy(int serverPort) throws IOException {
            this.serverPort = serverPort;
            this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread t = new Thread(this::accept, "holding-proxy");
            t.setDaemon(true);
            t.start();
        }

        String url() {
            return "nats://127.0.0.1:" + listener.getLocalPort();
        }

        synchronized int heldCount() {
            return held.size();
        }

        private void accept() {
            try {
                while (true) {
                    Socket client = listener.accept();
                    Socket upstream = new Socket(InetAddress.getLoopbackAddress(), serverPort);
                    sockets.add(client);
                    sockets.add(upstream);
                    OutputStream out = upstream.getOutputStream();
                    synchronized (this) {
                        toServer = out;
                    }
                    pipe(upstream.getInputStream(), client.getOutputStream());
                    Thread c2s = new Thread(() -> clientToServer(client, out), "holding-proxy-c2s");
                    c2s.setDaemon(true);
                    c2s.start();
                }
            } catch (IOException e) {
                // closed
            }
        }

        private static void pipe(InputStream in, OutputStream out) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[65536];
                try {
                    int n;
                    while ((n = in.read(buf)) > 0) {
                        out.write(buf, 0, n);
                        out.flush();
                    }
                } catch (IOException e) {
                    // closed
                }
            }, "holding-proxy-s2c");
            t.setDaemon(true);
            t.start();
        }

        private void clientToServer(Socket client, OutputStream out) {
            try {
                InputStream in = client.getInputStream();
                while (true) {
                    String line = readLine(in);
                    if (line == null) {
                        return;
                    }
                    ByteArrayOutputStream frame = new ByteArrayOutputStream();
                    frame.write((line + "\r\n").getBytes(US_ASCII));
                    String[] parts = line.split(" ");
                    String op = parts[0].toUpperCase();
                    boolean logPublish = false;
                    if (op.equals("PUB") || op.equals("HPUB")) {
                        int total = Integer.parseInt(parts[parts.length - 1]);
                        frame.write(in.readNBytes(total + 2)); // payload and its CRLF
                        logPublish = parts[1].startsWith(JetStreamLog.SUBJECT_PREFIX);
                    }
                    java.util.function.Predicate<String> which = holdIf;
                    boolean holdIt = logPublish && (which != null ? which.test(frame.toString(US_ASCII)) : hold);
                    synchronized (this) {
                        if (holdIt) {
                            held.add(frame.toByteArray());
                        } else {
                            out.write(frame.toByteArray());
                            out.flush();
                        }
                    }
                }
            } catch (IOException e) {
                // closed
            }
        }

        private static String readLine(InputStream in) throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            int c;
            while ((c = in.read()) >= 0) {
                if (c == '\n') {
                    String s = b.toString(US_ASCII);
                    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
                }
                b.write(c);
            }
            return null;
        }

        /** Sends every held frame, in order, and stops holding. */
        synchronized void release() throws IOException {
            hold = false;
            holdIf = null;
            for (byte[] f : held) {
                toServer.write(f);
            }
            toServer.flush();
            held.clear();
        }

        @Override
        public void close() throws IOException {
            listener.close();
            for (Socket s : sockets) {
                s.close();
            }
        }
    }
}
