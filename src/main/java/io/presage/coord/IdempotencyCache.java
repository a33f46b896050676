package io.presage.coord;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Outcomes by client-chosen transaction id, so a retried request gets the first outcome instead of
 * committing twice. Holds the most recent {@code capacity} ids in memory (including ones still in
 * flight, so a retry racing the original waits for it); committed ids also reach the store through
 * the log, which answers for older ones. A committed procedure attempt's result is held with its id
 * (JSON text; the log and the store carry it too), so a retried call gets the result too.
 *
 * <p>Beyond {@code capacity}, the oldest ids are forgotten, but only once the store can answer for
 * them: an id still in flight, or committed at a log sequence its own applier has not yet applied
 * (the store lagging or down), stays however many there are. Forgetting it earlier made a retry
 * find it nowhere, memory nor store, and commit it a second time.
 */
final class IdempotencyCache {
    /** One claim, in claim order; stale once its id's entry is gone or is another claim's. */
    private record Claimed(String id, CompletableFuture<CommitOutcome> outcome, Kept kept) {
    }

    /**
     * A claim's result, compared by identity: a claim drops only its own (two claims of one id may
     * carry equal results). A claim that ends undecided used to drop whatever result its id had, and
     * a retry that had claimed the id meanwhile and then committed lost its result.
     */
    private static final class Kept {
        final String json;

        Kept(String json) {
            this.json = json;
        }
    }

    private final int capacity;
    private final LongSupplier applied;
    private final ConcurrentHashMap<String, CompletableFuture<CommitOutcome>> byId = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Claimed> order = new ConcurrentLinkedQueue<>();
    /** Entries in {@link #order}, stale ones included (its size() walks the queue). */
    private final AtomicInteger queued = new AtomicInteger();
    private final ConcurrentHashMap<String, Kept> results = new ConcurrentHashMap<>();
    /** The highest log sequence of a committed id forgotten so far (0: none). */
    private final AtomicLong forgottenUpTo = new AtomicLong();

    /** {@code applied}: the log sequence up to which the store holds every committed id. */
    IdempotencyCache(int capacity, LongSupplier applied) {
        this.capacity = capacity;
        this.applied = applied;
    }

    CompletableFuture<CommitOutcome> get(String id) {
        return byId.get(id);
    }

    /**
     * Registers {@code f} for {@code id}, with the procedure result its transaction carries (null if
     * none); returns the future already registered, if any. The result is in place before {@code f}
     * can complete, so whoever sees the id committed finds the result of that commit, not of a
     * retry that raced it.
     */
    CompletableFuture<CommitOutcome> claim(String id, CompletableFuture<CommitOutcome> f, String result) {
        CompletableFuture<CommitOutcome> prior = byId.putIfAbsent(id, f);
        if (prior == null) {
            Kept kept = result == null ? null : new Kept(result);
            if (kept != null) {
                results.put(id, kept);
                if (byId.get(id) != f) {
                    results.remove(id, kept); // evicted meanwhile: no result outlives its id
                }
            }
            order.add(new Claimed(id, f, kept));
            queued.incrementAndGet();
            forgetOldest();
            // Not committed means not decided: a retry must be allowed to try again.
            f.whenComplete((o, e) -> {
                if (e != null || o instanceof CommitOutcome.Unavailable || o instanceof CommitOutcome.Unknown) {
                    byId.remove(id, f);
                }
                if (kept != null && !(o instanceof CommitOutcome.Committed)) {
                    results.remove(id, kept);
                }
            });
        }
        return prior;
    }

    /**
     * Drops {@code f}'s claim of {@code id} if it ended undecided, as its completion does: for one who
     * waited on it and acts at once, whose callback may run before the cache's (dependents of a future
     * run in no set order), and would otherwise find the claim still there.
     */
    void dropUndecided(String id, CompletableFuture<CommitOutcome> f) {
        CommitOutcome o = f.isDone() && !f.isCompletedExceptionally() ? f.getNow(null) : null;
        if (o instanceof CommitOutcome.Unavailable || o instanceof CommitOutcome.Unknown) {
            byId.remove(id, f);
        }
    }

    /**
     * Forgets the oldest ids while more than {@code capacity} are held, stopping at the first the store
     * cannot answer for yet. Ids are claimed about in commit order, so the oldest is the first to be
     * applied, and the ones behind it wait with it.
     */
    private void forgetOldest() {
        int moved = 0;
        // Also while the queue holds many stale entries (claims dropped as undecided stay in it until
        // they reach its head), so that it stays bounded when most claims fail.
        while (byId.size() > capacity || queued.get() > 2 * capacity) {
            Claimed oldest = order.peek();
            if (oldest == null) {
                return;
            }
            if (byId.get(oldest.id()) != oldest.outcome()) {
                dequeue(oldest); // already gone (not decided), or claimed again since
                continue;
            }
            if (byId.size() > capacity && forgettable(oldest.outcome())) {
                if (dequeue(oldest)) {
                    // Marked before the id leaves: a lookup that then misses it in memory must see that it
                    // was forgotten (forgotCommittedAfter). Removed first, a lookup from before its commit
                    // could claim the id in between, trust its miss, and commit the id again. Marked and
                    // not removed (claimed again meanwhile) only makes such lookups more cautious.
                    if (oldest.outcome().getNow(null) instanceof CommitOutcome.Committed c) {
                        forgottenUpTo.accumulateAndGet(c.sequence(), Math::max);
                    }
                    if (byId.remove(oldest.id(), oldest.outcome()) && oldest.kept() != null) {
                        results.remove(oldest.id(), oldest.kept());
                    }
                }
                continue;
            }
            if (queued.get() > 2 * capacity && moved++ < 2) {
                // A live id ahead of stale entries: to the back of the line (kept longer, which is
                // safe), so that the stale ones behind it come up. A couple per claim keeps this cheap.
                if (dequeue(oldest)) {
                    order.add(oldest);
                    queued.incrementAndGet();
                }
                continue;
            }
            return;
        }
    }

    /** remove() finds it at the head; false if another thread took it first. */
    private boolean dequeue(Claimed c) {
        if (order.remove(c)) {
            queued.decrementAndGet();
            return true;
        }
        return false;
    }

    private boolean forgettable(CompletableFuture<CommitOutcome> f) {
        if (!f.isDone()) {
            return false;
        }
        CommitOutcome o = f.isCompletedExceptionally() ? null : f.getNow(null);
        return !(o instanceof CommitOutcome.Committed c) || c.sequence() <= applied.getAsLong();
    }

    /**
     * Whether an id committed after log sequence {@code applied} has been forgotten. A lookup in the
     * store answers for every id applied when it began; an id forgotten since may have been applied
     * after the query's snapshot, so a lookup that began when the store had applied {@code applied}
     * can be trusted to have missed nothing only while this is false.
     */
    boolean forgotCommittedAfter(long applied) {
        return forgottenUpTo.get() > applied;
    }

    void remember(String id, CommitOutcome outcome, String result) {
        claim(id, CompletableFuture.completedFuture(outcome), result);
    }

    /**
     * Whether twice {@code capacity} ids are held: the store has stopped answering for them (PostgreSQL
     * down or far behind), and every new id would stay in memory until it catches up. The unapplied-
     * writes budget does not bound them: a read-only transaction writes nothing, and 256 MB of tiny
     * writes are millions of ids. The engine then refuses commits with an id (503) until it has caught up.
     */
    boolean backlogged() {
        if (byId.size() < 2 * capacity) {
            return false;
        }
        // Refused commits claim nothing, and claims are what forget old ids: without this, the cache
        // stayed full (and every commit with an id refused) after the store had caught up.
        forgetOldest();
        return byId.size() >= 2 * capacity;
    }

    /** The procedure result of the committed id, while the id is held (null: none, or not held). */
    String result(String id) {
        Kept k = results.get(id);
        return k == null ? null : k.json;
    }

    /** Claims in the queue, stale ones included (for tests). */
    int queued() {
        return queued.get();
    }

    void clear() {
        // forgottenUpTo stays: every id it counts was applied, so it never exceeds a later position
        results.clear();
        byId.clear();
        order.clear();
        queued.set(0);
    }
}
