package io.presage.speculate;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.coord.TxnSpec;

/**
 * A coordinator for the speculation driver's unit tests: optimistic certification reduced to "every
 * version read is still current", idempotency by id, and faults on demand (an answer lost after the
 * commit, a 503 before it). Not a stand-in for the real coordinator in integration tests, which run it.
 */
final class ToyCoordinator implements Speculator.Coordinator {
    private static final ObjectMapper JSON = new ObjectMapper();

    private record Version(JsonNode value, long version) {
    }

    private final Map<String, Version> items = new HashMap<>();
    private final Map<String, CoordinatorAnswer> byId = new HashMap<>();
    /** Every commit, by attempt id, in order. */
    final List<String> committedIds = new ArrayList<>();
    final List<String> submittedIds = new ArrayList<>();
    private long clock;
    private long sequence;
    /** The next this many commits happen but their answers are lost. */
    int loseAnswers;
    /** The next this many submissions get 503 without being looked at. */
    int unavailable;
    /**
     * The next this many resends (submissions of an id sent before) get 413 without being looked at, as from
     * a proxy's error page or a coordinator failed over to with lower limits.
     */
    int refuse;
    /**
     * The next this many commit answers come without their result, as the real coordinator's 200 does when
     * its store cannot tell the result kept with the id in time (mid-rebuild, or slow).
     */
    int resultlessAnswers;
    /** The next this many reads of the latest data fail. */
    int latestFailures;
    /** Submissions held in flight (received, not decided yet), by id. */
    private final Map<String, Held> held = new HashMap<>();
    private final Map<String, Boolean> toHold = new HashMap<>();
    private String releaseAfterCommittedCheck;

    private record Held(TxnSpec txn, CompletableFuture<CoordinatorAnswer> answer) {
    }

    synchronized void put(String key, Object value) {
        items.put(key, new Version(JSON.valueToTree(value), ++clock));
        sequence++;
    }

    synchronized long sequence() {
        return sequence;
    }

    synchronized JsonNode value(String key) {
        Version v = items.get(key);
        return v == null ? null : v.value();
    }

    /** What a mirror at this moment would read. */
    synchronized Speculator.Snapshot snapshot(List<String> keys) {
        Map<String, JsonNode> values = new HashMap<>();
        Map<String, Long> versions = new HashMap<>();
        for (String k : keys) {
            Version v = items.get(k);
            values.put(k, v == null ? null : v.value());
            versions.put(k, v == null ? 0L : v.version());
        }
        return new Speculator.Snapshot(values, versions);
    }

    @Override
    public synchronized CompletableFuture<CoordinatorAnswer> commit(TxnSpec txn) {
        submittedIds.add(txn.id());
        Held running = held.get(txn.id());
        if (running != null) {
            return running.answer(); // a repeat of a request still running waits for its outcome
        }
        Boolean restartFirst = toHold.remove(txn.id());
        if (restartFirst != null) {
            if (restartFirst) {
                restart();
            }
            Held h = new Held(txn, new CompletableFuture<>());
            held.put(txn.id(), h);
            return h.answer();
        }
        if (unavailable > 0) {
            unavailable--;
            return CompletableFuture.completedFuture(new CoordinatorAnswer.Unavailable("log not writable"));
        }
        if (refuse > 0 && java.util.Collections.frequency(submittedIds, txn.id()) > 1) {
            refuse--;
            return CompletableFuture.completedFuture(new CoordinatorAnswer.Refused(413, "PAYLOAD_TOO_LARGE", "too large"));
        }
        if (!byId.containsKey(txn.id())) {
            // As the real coordinator: attempt n of a call commits only if no earlier attempt of it did, and
            // the earlier ids it does not hold are taken as aborted (CoordinatorEngine.submit).
            for (String e : io.presage.proc.Attempts.earlier(txn.id())) {
                CoordinatorAnswer before = byId.putIfAbsent(e, new CoordinatorAnswer.Aborted("STALE_READ", List.of(), "superseded"));
                if (before instanceof CoordinatorAnswer.Committed c) {
                    return CompletableFuture.completedFuture(c);
                }
            }
        }
        CoordinatorAnswer answer = byId.computeIfAbsent(txn.id(), id -> certify(txn));
        if (answer instanceof CoordinatorAnswer.Committed && loseAnswers > 0) {
            loseAnswers--;
            return CompletableFuture.failedFuture(new java.io.IOException("connection reset"));
        }
        if (answer instanceof CoordinatorAnswer.Committed c && resultlessAnswers > 0) {
            resultlessAnswers--;
            return CompletableFuture.completedFuture(new CoordinatorAnswer.Committed(c.timestamp(), c.adjusted(), c.sequence(), null));
        }
        return CompletableFuture.completedFuture(answer);
    }

    private CoordinatorAnswer certify(TxnSpec txn) {
        List<String> conflicts = new ArrayList<>();
        for (TxnSpec.Read r : txn.reads()) {
            Version v = items.get(r.key());
            if ((v == null ? 0 : v.version()) != r.version()) {
                conflicts.add(r.key());
            }
        }
        if (!conflicts.isEmpty()) {
            return new CoordinatorAnswer.Aborted("STALE_READ", conflicts, "certification failed");
        }
        long ts = ++clock;
        for (TxnSpec.Write w : txn.writes()) {
            try {
                items.put(w.key(), w.delete() ? null : new Version(JSON.readTree(w.valueJson()), ts));
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
        }
        committedIds.add(txn.id());
        try { // the result the real coordinator keeps with the id (and GET /v1/transactions/{id} answers)
            return new CoordinatorAnswer.Committed(ts, false, ++sequence, txn.result() == null ? null : JSON.readTree(txn.result()));
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public synchronized CompletableFuture<Speculator.Snapshot> latest(List<String> keys) {
        if (latestFailures > 0) {
            latestFailures--;
            return CompletableFuture.failedFuture(new java.io.IOException("connection refused"));
        }
        return CompletableFuture.completedFuture(snapshot(keys));
    }

    @Override
    public synchronized CompletableFuture<CoordinatorAnswer.Committed> committed(String id) {
        CoordinatorAnswer.Committed found = null;
        for (Map.Entry<String, CoordinatorAnswer> e : byId.entrySet()) {
            if ((e.getKey().equals(id) || e.getKey().startsWith(id + "#")) && e.getValue() instanceof CoordinatorAnswer.Committed c) {
                found = c;
            }
        }
        if (releaseAfterCommittedCheck != null) {
            String r = releaseAfterCommittedCheck;
            releaseAfterCommittedCheck = null;
            release(r);
        }
        return CompletableFuture.completedFuture(found);
    }

    /** The submission of {@code id}, when it comes, stays running until released; a restart first, if asked. */
    synchronized void hold(String id, boolean restartFirst) {
        toHold.put(id, restartFirst);
    }

    synchronized boolean holding(String id) {
        return held.containsKey(id);
    }

    /** Decides the held submission of {@code id} now. */
    synchronized void releaseNow(String id) {
        release(id);
    }

    /** Decides the held submission of {@code id} right after the next {@link #committed} check has answered. */
    synchronized void releaseAfterNextCommittedCheck(String id) {
        releaseAfterCommittedCheck = id;
    }

    private void release(String id) {
        Held h = held.remove(id);
        h.answer().complete(byId.computeIfAbsent(id, x -> certify(h.txn())));
    }

    /** Forgets outcomes not kept durably, as a restarted coordinator does: aborts, which are only in memory. */
    synchronized void restart() {
        byId.values().removeIf(a -> !(a instanceof CoordinatorAnswer.Committed));
    }

    /** Log positions applied by "the mirror": a commit is confirmed once its sequence is reached. */
    static final class AppliedLog {
        private final TreeMap<Long, List<CompletableFuture<Void>>> waiting = new TreeMap<>();
        private long applied;

        synchronized CompletableFuture<?> await(long sequence) {
            if (sequence <= applied) {
                return CompletableFuture.completedFuture(null);
            }
            CompletableFuture<Void> f = new CompletableFuture<>();
            waiting.computeIfAbsent(sequence, s -> new ArrayList<>()).add(f);
            return f;
        }

        void advance(long sequence) {
            List<CompletableFuture<Void>> due = new ArrayList<>();
            synchronized (this) {
                applied = Math.max(applied, sequence);
                while (!waiting.isEmpty() && waiting.firstKey() <= applied) {
                    due.addAll(waiting.pollFirstEntry().getValue());
                }
            }
            due.forEach(f -> f.complete(null));
        }
    }
}
