package io.presage.it;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy between an application and a real PostgreSQL that can lose a statement's fate on the way:
 * the next {@link #arm armed} number of client writes that carry a marker (a speculation's id, in the
 * statement's parameters) are either forwarded and their whole answer, up to the server's ReadyForQuery,
 * swallowed before the connection is cut (the statement ran and committed, its reply never arrived), or
 * cut before they reach the server (the statement never ran). Everything else passes untouched. The
 * server's side is read message by message (type byte, length), which holds as the application asks for
 * no TLS.
 */
final class ReplyLosingPgProxy implements AutoCloseable {
    enum Loss {
        /** The statement reaches the server; its reply does not reach the application. */
        REPLY,
        /** The statement never reaches the server. */
        STATEMENT,
        /** As {@link #STATEMENT}, once {@link #release} is called: until then the call waits on it. */
        HELD_STATEMENT,
        /**
         * As {@link #STATEMENT}, the application's connection reset (RST) rather than closed: what a
         * PostgreSQL stopped mid-statement, or a network in between, gives ("Connection reset").
         */
        RESET
    }

    private final ServerSocket listener;
    private final int serverPort;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicInteger remaining = new AtomicInteger();
    private final java.util.concurrent.CountDownLatch released = new java.util.concurrent.CountDownLatch(1);
    private volatile byte[] marker = new byte[0];
    private volatile Loss loss = Loss.REPLY;
    /** How many statements were lost so far. */
    final AtomicInteger lost = new AtomicInteger();

    ReplyLosingPgProxy(int serverPort) throws IOException {
        this.serverPort = serverPort;
        this.listener = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::accept, "pg-proxy");
        t.setDaemon(true);
        t.start();
    }

    int port() {
        return listener.getLocalPort();
    }

    /** The next {@code times} client writes carrying {@code marker} are lost as {@code how}. */
    void arm(String marker, int times, Loss how) {
        this.marker = marker.getBytes(StandardCharsets.UTF_8);
        this.loss = how;
        remaining.set(times);
    }

    /** Lets a {@link Loss#HELD_STATEMENT} go (to be lost). */
    void release() {
        released.countDown();
    }

    /** Nothing more is lost. */
    void disarm() {
        remaining.set(0);
    }

    private void accept() {
        try {
            while (true) {
                Socket client = listener.accept();
                Socket server = new Socket(InetAddress.getLoopbackAddress(), serverPort);
                sockets.add(client);
                sockets.add(server);
                Link link = new Link(client, server);
                daemon(link::clientToServer);
                daemon(link::serverToClient);
            }
        } catch (IOException e) {
            // closed
        }
    }

    private static void daemon(Runnable r) {
        Thread t = new Thread(r, "pg-proxy-pipe");
        t.setDaemon(true);
        t.start();
    }

    /** One application connection and its server connection. */
    private final class Link {
        private final Socket client;
        private final Socket server;
        /** Set before the armed statement is forwarded: its answer is swallowed and the link cut at ReadyForQuery. */
        private volatile boolean swallowing;

        Link(Socket client, Socket server) {
            this.client = client;
            this.server = server;
        }

        void clientToServer() {
            try {
                InputStream in = client.getInputStream();
                OutputStream out = server.getOutputStream();
                byte[] buf = new byte[65536];
                int n;
                while ((n = in.read(buf)) > 0) {
                    if (contains(buf, n, marker) && remaining.getAndUpdate(r -> Math.max(0, r - 1)) > 0) {
                        lost.incrementAndGet();
                        if (loss == Loss.HELD_STATEMENT) {
                            released.await();
                        }
                        if (loss == Loss.RESET) {
                            client.setSoLinger(true, 0); // close() then sends RST instead of FIN
                        }
                        if (loss != Loss.REPLY) {
                            cut();
                            return;
                        }
                        swallowing = true;
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // closed
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            cut();
        }

        void serverToClient() {
            try {
                DataInputStream in = new DataInputStream(new BufferedInputStream(server.getInputStream()));
                OutputStream out = new java.io.BufferedOutputStream(client.getOutputStream(), 65536);
                while (true) {
                    int type = in.readUnsignedByte();
                    int length = in.readInt();
                    byte[] body = in.readNBytes(length - 4);
                    if (swallowing) {
                        if (type == 'Z') { // the statement's transaction is over: committed, and nothing of it told
                            cut();
                            return;
                        }
                        continue;
                    }
                    out.write(type);
                    out.write(new byte[] {(byte) (length >>> 24), (byte) (length >>> 16), (byte) (length >>> 8), (byte) length});
                    out.write(body);
                    if (in.available() == 0) {
                        out.flush();
                    }
                }
            } catch (IOException e) {
                // closed
            }
            cut();
        }

        private void cut() {
            close(client);
            close(server);
        }
    }

    private static boolean contains(byte[] buf, int n, byte[] m) {
        if (m.length == 0) {
            return false;
        }
        outer:
        for (int i = 0; i + m.length <= n; i++) {
            for (int j = 0; j < m.length; j++) {
                if (buf[i + j] != m[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closed already
        }
    }

    @Override
    public void close() {
        try {
            listener.close();
        } catch (IOException e) {
            // closed already
        }
        sockets.forEach(ReplyLosingPgProxy::close);
    }
}
