package io.presage.proc;

import java.util.ArrayList;
import java.util.List;

/**
 * How a procedure call with an idempotency id is retried: attempt {@code n} commits under
 * {@code "<id>#n"}, at most {@link #MAX} of them. The coordinator's runner and a mirror's speculations
 * walk the same ids, so whichever runs a call, a repeat of it finds the attempt that committed.
 */
public final class Attempts {
    public static final int MAX = 8;

    private Attempts() {
    }

    /** The id attempt {@code n} of call {@code id} commits under. */
    public static String id(String id, int n) {
        return id + "#" + n;
    }

    /** The ids of all of call {@code id}'s attempts, in order. */
    public static List<String> ids(String id) {
        List<String> ids = new ArrayList<>(MAX);
        for (int n = 0; n < MAX; n++) {
            ids.add(id(id, n));
        }
        return ids;
    }

    /**
     * The call whose attempt {@code attemptId} is ({@code "<id>#n"}, 0 ≤ n < {@link #MAX}: {@code "<id>"}),
     * or null for an id that is not an attempt's.
     */
    public static String callOf(String attemptId) {
        return number(attemptId) >= 0 ? attemptId.substring(0, attemptId.length() - 2) : null;
    }

    /** n for an attempt id {@code "<id>#n"} (0 ≤ n < {@link #MAX}, {@code <id>} not empty); else -1. */
    private static int number(String id) {
        int hash = id.lastIndexOf('#');
        if (hash <= 0 || hash != id.length() - 2) {
            return -1;
        }
        int n = id.charAt(hash + 1) - '0';
        return n >= 0 && n < MAX ? n : -1;
    }

    /**
     * For attempt {@code n} of a call ({@code "<id>#n"}, n ≥ 1), the ids of its attempts before it,
     * {@code "<id>#0"} to {@code "<id>#(n-1)"}; otherwise (attempt 0, or not an attempt id) none.
     */
    public static List<String> earlier(String attemptId) {
        int n = number(attemptId);
        if (n < 1) {
            return List.of();
        }
        String call = attemptId.substring(0, attemptId.length() - 2);
        List<String> ids = new ArrayList<>(n);
        for (int k = 0; k < n; k++) {
            ids.add(id(call, k));
        }
        return ids;
    }

    /**
     * For attempt {@code n} of a call ({@code "<id>#n"}), the ids of its attempts after it,
     * {@code "<id>#(n+1)"} to {@code "<id>#(MAX-1)"}; otherwise (not an attempt id) none.
     */
    public static List<String> later(String attemptId) {
        int n = number(attemptId);
        if (n < 0) {
            return List.of();
        }
        String call = attemptId.substring(0, attemptId.length() - 2);
        List<String> ids = new ArrayList<>(MAX - 1 - n);
        for (int k = n + 1; k < MAX; k++) {
            ids.add(id(call, k));
        }
        return ids;
    }

    /** Every id a transaction called {@code id} may have committed under: its own (a plain transaction's), then its attempts'. */
    public static List<String> committedIds(String id) {
        List<String> ids = new ArrayList<>(MAX + 1);
        ids.add(id);
        ids.addAll(ids(id));
        return ids;
    }
}
