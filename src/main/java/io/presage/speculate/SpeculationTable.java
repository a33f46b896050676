package io.presage.speculate;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The speculations a mirror knows, by id: every one still speculative (at most {@code maxPending}, and
 * at most {@code maxPendingBytes} of them by their estimated size, so that a coordinator outage cannot
 * grow memory without bound: 10,000 transactions of 8 MB each are 80 GB) and finished ones for
 * {@code retentionMillis}, at most {@code maxFinished} of them, oldest forgotten first.
 */
public final class SpeculationTable {

    /** {@code created}: this call made it; otherwise it is the one already known under the id. */
    public record Claim(Speculation speculation, boolean created) {
    }

    private final ConcurrentHashMap<String, Speculation> byId = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Speculation> finishedOrder = new ConcurrentLinkedQueue<>();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicLong pendingBytes = new AtomicLong();
    private final AtomicInteger finishedKept = new AtomicInteger();
    private final int maxPending;
    private final long maxPendingBytes;
    private final int maxFinished;
    private final long retentionMillis;

    /** No byte budget: only the count bounds what is in flight. */
    public SpeculationTable(int maxPending, int maxFinished, long retentionMillis) {
        this(maxPending, Long.MAX_VALUE, maxFinished, retentionMillis);
    }

    public SpeculationTable(int maxPending, long maxPendingBytes, int maxFinished, long retentionMillis) {
        this.maxPending = maxPending;
        this.maxPendingBytes = maxPendingBytes;
        this.maxFinished = maxFinished;
        this.retentionMillis = retentionMillis;
    }

    /** The estimated memory of an undecided speculation whose request is {@code textLength} chars of JSON. */
    public static long weight(int textLength) {
        // The recorded body text, the request parsed (a JSON tree or a transaction's values), and what is
        // sent to the coordinator again: about three copies, plus the entry and its view.
        return 1024 + 3L * textLength;
    }

    /**
     * As {@link #claim(String, long)} for a speculation not yet counted in bytes (see {@link #charge}): one
     * a restart interrupted, refused only by {@code maxPending}, never by the bytes in flight.
     */
    public Claim claim(String id) {
        return claim(id, 0);
    }

    /**
     * The speculation known under {@code id}, or a new one counted as {@code bytes}; null when
     * {@code maxPending} are in flight already, or when these bytes would take the undecided ones past
     * {@code maxPendingBytes} (the caller answers 503). One larger than the whole budget is taken when
     * nothing else is in flight, so that any transaction the limits allow can be speculated.
     */
    public Claim claim(String id, long bytes) {
        Speculation known = byId.get(id);
        if (known != null) {
            return new Claim(known, false);
        }
        if (pending.incrementAndGet() > maxPending) {
            pending.decrementAndGet();
            return null;
        }
        long total = pendingBytes.addAndGet(bytes);
        if (bytes > 0 && total > maxPendingBytes && total != bytes) { // a claim of 0 bytes (a resumption) is never refused by bytes
            pendingBytes.addAndGet(-bytes);
            pending.decrementAndGet();
            return null;
        }
        Speculation mine = new Speculation(id);
        mine.bytes(bytes);
        Speculation raced = byId.putIfAbsent(id, mine);
        if (raced != null) {
            release(mine);
            return new Claim(raced, false);
        }
        return new Claim(mine, true);
    }

    /**
     * Counts {@code s}, claimed by {@link #claim(String)} before its size was known (a speculation resumed
     * after a restart, whose record is read once its id is claimed), as {@code bytes} from now on. Never
     * refused: what a restart interrupted was admitted under the budget before it.
     */
    public void charge(Speculation s, long bytes) {
        synchronized (s) {
            if (s.bytes() >= 0) { // not released already (finished, or abandoned)
                pendingBytes.addAndGet(bytes - s.bytes());
                s.bytes(bytes);
            }
        }
    }

    /** A speculation that could not start (its local read failed): forgotten, as if never claimed. */
    public void abandon(Speculation s) {
        if (byId.remove(s.id(), s)) {
            release(s);
        }
    }

    /** Called once when {@code s} has finished: kept for a while, then forgotten. */
    public void finished(Speculation s) {
        release(s);
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

    /** The estimated bytes of the speculations in flight. */
    public long pendingBytes() {
        return pendingBytes.get();
    }

    private void release(Speculation s) {
        synchronized (s) {
            pendingBytes.addAndGet(-Math.max(0, s.bytes()));
            s.bytes(-1); // released: a late charge must not count it again
        }
        pending.decrementAndGet();
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
