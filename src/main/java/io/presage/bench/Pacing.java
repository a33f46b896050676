package io.presage.bench;

/**
 * Open-loop pacing of one benchmark client, so that the clients together start {@code rate}
 * operations a second: each starts one every {@link #interval} nanoseconds. A client that falls behind
 * catches up by at most one interval, never with a burst.
 */
final class Pacing {
    private Pacing() {
    }

    /** Nanoseconds between one client's starts, for {@code clients} sharing {@code rate} a second (0: unpaced). */
    static long interval(int clients, double rate) {
        return rate > 0 ? (long) (clients * 1e9 / rate) : 0;
    }

    /** When the client may start next, after its previous slot {@code previous}, at time {@code now}. */
    static long nextStart(long previous, long interval, long now) {
        return Math.max(previous + interval, now - interval);
    }
}
