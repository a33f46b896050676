package io.presage.speculate;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The speculations a mirror knows, by id: every one still speculative (at most {@code maxPending}, so
 * that a coordinator outage cannot grow memory without bound) and finished ones for
 * {@code retentionMillis}, at most {@code maxFinished} of them, oldest forgotten first.
 */
public final class SpeculationTable {

    /** {@code created}: this call made it; otherwise it is the one already known under the id. */
    public record Claim(Speculation speculation, boolean created) {
    }

    private final ConcurrentHashMap<String, Speculation> byId = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Speculation> finishedOrder = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger finishedKept = new AtomicInteger();
    private final int maxPending;
    private final int maxFinished;
    private final long retentionMillis;

    public SpeculationTable(int maxPending, int maxFinished, long retentionMillis) {
        this.maxPending = maxPending;
        this.maxFinished = maxFinished;
        this.retentionMillis = retentionMillis;
    }

    /**
     * The speculation known under {@code id}, or a new one; null when {@code maxPending} are in flight
     * already (the caller answers 503).
     */
    public Claim claim(String id) {
        Speculation known = byId.get(id);
        if (known != null) {
            return new Claim(known, false);
        }
        if (pending.incrementAndGet() > maxPending) {
            pending.decrementAndGet();
            return null;
        }
        Speculation mine = new Speculation(id);
        Speculation raced = byId.putIfAbsent(id, mine);
        if (raced != null) {
            pending.decrementAndGet();
            return new Claim(raced, false);
        }
        return new Claim(mine, true);
    }

    /** A speculation that could not start (its local read failed): forgotten, as if never claimed. */
    public void abandon(Speculation s) {
        if (byId.remove(s.id(), s)) {
            pending.decrementAndGet();
        }
    }

    /** Called once when {@code s} has finished: kept for a while, then forgotten. */
    public void finished(Speculation s) {
        pending.decrementAndGet();
        finishedOrder.add(s);
        finishedKept.incrementAndGet();
        forgetOld(s.finishedMillis());
    }

    public Speculation get(String id) {
        return byId.get(id);
    }

    public int pending() {
        return pending.get();
    }

    private void forgetOld(long nowMillis) {
        Speculation oldest;
        while ((oldest = finishedOrder.peek()) != null
                && (finishedKept.get() > maxFinished || oldest.finishedMillis() < nowMillis - retentionMillis)) {
            if (finishedOrder.remove(oldest)) {
                finishedKept.decrementAndGet();
                byId.remove(oldest.id(), oldest);
            }
        }
    }
}
