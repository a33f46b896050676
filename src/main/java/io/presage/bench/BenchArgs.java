package io.presage.bench;

import java.net.URI;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

import io.vertx.core.Vertx;

/** Command-line values shared by the benchmarks' option parsers; errors say which option is wrong. */
final class BenchArgs {
    private BenchArgs() {
    }

    /** {@code -h} / {@code --help}: the caller prints its usage and exits 0. */
    static final class HelpRequested extends RuntimeException {
        HelpRequested() {
            super(null, null, false, false);
        }
    }

    /**
     * The {@code --option value} pairs of a command line, in order: {@code -h}/{@code --help} anywhere
     * throws {@link HelpRequested}; an option without a value is an error naming it; flags (options that
     * take no value) come with a null value.
     */
    static List<Map.Entry<String, String>> pairs(String[] args, Set<String> flags) {
        List<Map.Entry<String, String>> pairs = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) {
                throw new HelpRequested();
            }
            if (flags.contains(a)) {
                pairs.add(new AbstractMap.SimpleEntry<>(a, null));
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("missing value after " + a);
            }
            pairs.add(new AbstractMap.SimpleEntry<>(a, args[++i]));
        }
        return pairs;
    }

    /** A node's root URL: {@code http://host:port}, no path (a trailing slash is dropped). */
    static URI httpUrl(String v, String option) {
        URI u;
        try {
            u = URI.create(v.endsWith("/") ? v.substring(0, v.length() - 1) : v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + " must be an http:// URL with a host, not '" + v + "'");
        }
        if (!"http".equals(u.getScheme()) || u.getHost() == null) {
            throw new IllegalArgumentException(option + " must be an http:// URL with a host, not '" + v + "'");
        }
        if (u.getPath() != null && !u.getPath().isEmpty()) {
            throw new IllegalArgumentException(option + " must be the node's root URL (no path), not '" + v + "'");
        }
        return u;
    }

    static int positive(String option, String v) {
        int n = integer(option, v);
        if (n < 1) {
            throw new IllegalArgumentException(option + " must be at least 1, not " + v);
        }
        return n;
    }

    static int nonNegative(String option, String v) {
        int n = integer(option, v);
        if (n < 0) {
            throw new IllegalArgumentException(option + " must not be negative, not " + v);
        }
        return n;
    }

    /** A number from 0 to 1. */
    static double probability(String option, String v) {
        double d;
        try {
            d = Double.parseDouble(v);
        } catch (NumberFormatException e) {
            d = Double.NaN;
        }
        if (!(d >= 0 && d <= 1)) {
            throw new IllegalArgumentException(option + " must be a number from 0 to 1, not '" + v + "'");
        }
        return d;
    }

    static int integer(String option, String v) {
        try {
            return Integer.parseInt(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a whole number for " + option + ": " + v);
        }
    }

    /**
     * The options, or the process ends: usage and status 0 for {@code --help}, the problem, usage and
     * status 2 for a bad option.
     */
    static <T> T parseOrExit(String command, String usage, Supplier<T> parser) {
        try {
            return parser.get();
        } catch (HelpRequested e) {
            System.out.println(usage);
            System.exit(0);
        } catch (IllegalArgumentException e) {
            System.err.println("presage " + command + ": " + e.getMessage());
            System.err.println(usage);
            System.exit(2);
        }
        throw new AssertionError("unreachable");
    }

    /**
     * Runs a command's body and ends the process with its status: a {@link Failure} prints its message,
     * anything else thrown prints itself, both status 1. The Vert.x instance is closed first.
     */
    static void runAndExit(String command, Vertx vertx, Callable<Integer> body) {
        int status;
        try {
            status = body.call();
        } catch (Failure e) {
            System.err.println("presage " + command + ": error: " + e.getMessage());
            status = 1;
        } catch (Exception e) {
            System.err.println("presage " + command + ": error: " + e);
            status = 1;
        } finally {
            vertx.close().toCompletionStage().toCompletableFuture().orTimeout(5, TimeUnit.SECONDS)
                    .exceptionally(t -> null).join();
        }
        System.exit(status);
    }

    /** A failure with a message for the user, no stack trace. */
    static final class Failure extends RuntimeException {
        Failure(String message) {
            super(message, null, false, false);
        }
    }
}
