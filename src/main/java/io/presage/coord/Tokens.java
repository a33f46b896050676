package io.presage.coord;

import java.util.Map;

import io.presage.api.ApiException;

/**
 * Consistency tokens: an opaque string naming a log position. Passed back as {@code after}, a node
 * waits until it has applied that position, which gives read-your-writes anywhere.
 *
 * <p>A position means something only in the log stream that numbered it: a stream deleted and made
 * again (or a cluster wiped and started afresh while clients keep their tokens) numbers from 1 again,
 * and a token's position then names some other commit, or none yet. So a token names the stream too
 * ({@code p2.<position>.<stream>}, the stream's identity being its creation time), and a node refuses a
 * token of another stream (409 {@code LOG_REPLACED}) rather than take it as satisfied, or wait for a
 * position the write it stands for will never reach. A token of the older form {@code p1.<position>}
 * (from an earlier build, or given before this node learned its stream) names no stream and is honoured
 * as a position, as it always was.
 *
 * <p>The stream is the node's, one per process: the applier tells it which stream its data was applied
 * from ({@link #issuing}) and which stream tokens are honoured for ({@link #honouring}); they differ only
 * while that stream was replaced under the node, which then answers nothing from its own copy as current.
 */
public final class Tokens {
    private static final String V1 = "p1.";
    private static final String V2 = "p2.";
    /** The stream the positions this node gives out count in; 0 while not known. */
    private static volatile long issuing;
    /** The stream a token must name to be honoured here; 0 while not known (every token is). */
    private static volatile long honouring;

    private Tokens() {
    }

    /** The node's data was applied from stream {@code issued}; tokens of stream {@code honoured} are honoured. */
    public static synchronized void streams(long issued, long honoured) {
        issuing = issued;
        honouring = honoured;
    }

    /**
     * Before the applier has looked at the stream under the name (the first moments of a start, or longer
     * while NATS cannot be reached): the node's data is from stream {@code applied}, as its database says, and
     * tokens are judged by that, not all honoured. A token of a stream made again since named a write this
     * node's data never had, and a restarted mirror answered it from that data as if it had. Whatever the
     * applier then finds ({@link #streams}) replaces this; a stream already known is left alone.
     */
    public static synchronized void streamsIfUnknown(long applied) {
        // Synchronized with streams: the check and the set are one step, never between an applier's two fields.
        if (honouring == 0 && issuing == 0) {
            issuing = applied;
            honouring = applied;
        }
    }

    public static String of(long sequence) {
        return of(sequence, issuing);
    }

    /**
     * A token of position {@code sequence} in the stream an answer from another node named ({@code stream}),
     * or in this node's when it named none (0: a node of an earlier build). Stamped with this node's stream,
     * a position from a stream made again that this node has not noticed yet was taken for one of the old.
     */
    public static String ofNamed(long sequence, long stream) {
        return stream != 0 ? of(sequence, stream) : of(sequence);
    }

    /** A token of position {@code sequence} in stream {@code stream} (0: none named, an older {@code p1} token). */
    public static String of(long sequence, long stream) {
        return stream == 0 ? V1 + Long.toString(sequence, 36)
                : V2 + Long.toString(sequence, 36) + "." + Long.toString(stream, 36);
    }

    /**
     * The log position in a token; 400 BAD_REQUEST when it is not one of ours, 409 LOG_REPLACED when it
     * names a stream other than this node's.
     */
    public static long position(String token) {
        long[] t = parse(token);
        long here = honouring;
        if (t[1] != 0 && here != 0 && t[1] != here) {
            throw new ApiException(409, "LOG_REPLACED", "the token names position " + t[0] + " of a log stream that "
                    + "is not this node's (created at " + micros(t[1]) + "; this node's was created at " + micros(here)
                    + "): the stream was deleted and made again, and the write the token stands for may be lost; "
                    + "read without after, or with a token given since", Map.of("sequence", t[0]));
        }
        return t[0];
    }

    /**
     * The position in a token whatever stream it names: for the coordinator's answers, whose stream a
     * mirror that has not noticed a replacement yet does not know; whether this mirror applied that
     * commit is then told by its applier, which applies nothing from another stream.
     */
    public static long anyPosition(String token) {
        return parse(token)[0];
    }

    /**
     * The stream a token names (0: none, an older {@code p1} token), whatever this node's is: the caller
     * compares it with the stream it applied from before taking the position for one it has passed.
     */
    public static long streamOf(String token) {
        return parse(token)[1];
    }

    /** {position, stream (0: not named)}, or 400. */
    static long[] parse(String token) {
        if (token != null && token.startsWith(V1) && token.length() <= 20) {
            return new long[] {number(token, token.substring(V1.length())), 0};
        }
        if (token != null && token.startsWith(V2) && token.length() <= 40) {
            int dot = token.indexOf('.', V2.length());
            if (dot > 0) {
                long stream = number(token, token.substring(dot + 1));
                if (stream > 0) {
                    return new long[] {number(token, token.substring(V2.length(), dot)), stream};
                }
            }
        }
        throw bad(token);
    }

    private static long number(String token, String digits) {
        try {
            long p = Long.parseLong(digits, 36);
            if (p < 0) {
                throw new NumberFormatException();
            }
            return p;
        } catch (NumberFormatException e) {
            throw bad(token);
        }
    }

    private static ApiException bad(String token) {
        return ApiException.badRequest("not a consistency token: " + token);
    }

    private static String micros(long stream) {
        return java.time.Instant.EPOCH.plusNanos(stream * 1_000).toString();
    }
}
