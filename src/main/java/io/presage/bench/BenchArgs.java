package io.presage.bench;

import java.net.URI;

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

    /** A node's root URL: {@code http://host:port}, no path (a trailing slash is dropped). */
    static URI httpUrl(String v, String option) {
        URI u;
        try {
            u = URI.create(v.endsWith("/") ? v.substring(0, v.length() - 1) : v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": not a URL: " + v);
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

    static int integer(String option, String v) {
        try {
            return Integer.parseInt(v.replace("_", ""));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a whole number for " + option + ": " + v);
        }
    }
}
