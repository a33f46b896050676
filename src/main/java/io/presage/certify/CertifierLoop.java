package io.presage.certify;

import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

/**
 * The single writer: any number of threads {@link #submit} transactions into a lock-free bounded
 * queue; one thread drains it in batches, certifies each transaction and hands the batch to a
 * {@link BatchHandler} (the coordinator's group commit publishes it to the log; the default answers
 * at once). Work that must touch certification state — undoing a batch whose publish failed,
 * releasing one that is durable — is queued with {@link #execute} and runs on the same thread, in
 * order, so the state never needs a lock.
 */
public final class CertifierLoop implements AutoCloseable {

    /** Called on the loop thread with each transaction's decision. */
    public interface Callback {
        void onDecision(Decision decision);

        /**
         * This transaction was not certified: the loop closed first (called on the closing thread)
         * or certification failed on a bug (called on the loop thread, state rolled back if it can be).
         */
        default void notCertified() {
        }
    }

    /**
     * A certified transaction, as a batch handler sees it; {@code markAfter} is the undo position
     * just after it, so a handler that splits a batch can release or roll back each part exactly.
     */
    public record Certified(TxnRequest txn, Object attachment, Decision decision, Callback callback, long markAfter) {
        public void answer() {
            callback.onDecision(decision);
        }

        public void answer(Decision d) {
            callback.onDecision(d);
        }
    }

    /**
     * Receives every batch on the loop thread. {@code rollbackTo(markBefore)} undoes the batch (and
     * everything certified after it); {@code release(markAfter)} forgets it once durable.
     */
    public interface BatchHandler {
        void onBatch(Certifier certifier, long markBefore, long markAfter, List<Certified> batch);

        /**
         * Called on the loop thread after every round of work and whenever a deadline it asked for has
         * passed: a handler that holds transactions back (group commit spacing its log messages) sends
         * them here. Returns the {@link System#nanoTime()} by which it wants to be called again, or
         * {@link #NO_DEADLINE}; the loop does not sleep past it. Runs on every round, spins included:
         * a handler with nothing held should return at once, without reading the clock.
         */
        default long tick(Certifier certifier) {
            return NO_DEADLINE;
        }

        /** Answers each transaction as soon as it is certified. */
        BatchHandler ANSWER_AT_ONCE = (certifier, before, after, batch) -> batch.forEach(Certified::answer);
    }

    /** {@link BatchHandler#tick}'s answer when it needs no call back. */
    public static final long NO_DEADLINE = Long.MAX_VALUE;

    private record Submission(TxnRequest txn, Object attachment, Callback callback) {
    }

    private final Certifier certifier;
    private final ManyToOneConcurrentArrayQueue<Object> queue;
    private final int maxBatch;
    private final BatchHandler handler;
    private final AgentRunner runner;
    private final ArrayList<Certified> batch = new ArrayList<>();
    private final org.agrona.ErrorHandler errors;
    private final WakeableIdleStrategy idle;
    private final Object drainLock = new Object();
    /** No submission is taken from now on. */
    private volatile boolean closed;
    /** The loop thread has stopped: the queue may be drained from other threads (one at a time). */
    private volatile boolean stopped;

    public CertifierLoop(Certifier certifier, int queueCapacity, int maxBatch, BatchHandler handler) {
        this.certifier = certifier;
        this.queue = new ManyToOneConcurrentArrayQueue<>(queueCapacity);
        this.maxBatch = maxBatch;
        this.handler = handler;
        // Spin briefly, then yield, then sleep until a submission wakes the loop: low latency under
        // load without burning a core when idle (this runs on 2-core machines beside the HTTP server).
        this.errors = err -> System.err.println("presage certifier loop: " + err);
        this.idle = new WakeableIdleStrategy(() -> !queue.isEmpty(), 50_000_000L);
        this.runner = new AgentRunner(idle, errors, null, new LoopAgent());
        AgentRunner.startOnThread(runner, r -> {
            Thread t = new Thread(r, "presage-certifier");
            t.setDaemon(true);
            return t;
        });
    }

    /** Whether the calling thread is this loop's. */
    public boolean onLoopThread() {
        return Thread.currentThread() == runner.thread();
    }

    /**
     * Queues a transaction; false when the queue is full or the loop closed (the caller should answer
     * 503). A submission that lands just as the loop closes is told {@link Callback#notCertified()}:
     * a caller that read the loop before a rebuild replaced it must not wait for an answer forever.
     */
    public boolean submit(TxnRequest txn, Object attachment, Callback callback) {
        if (closed) {
            return false;
        }
        boolean queued = wakeIf(queue.offer(new Submission(txn, attachment, callback)));
        // The queue publishes its element with a release store, which a later volatile read may pass:
        // without the fence, this could read `closed` false while close() still missed the element.
        VarHandle.fullFence();
        if (queued && closed) {
            drainClosed(); // close() may have emptied the queue before this landed
        }
        return queued;
    }

    /** Runs {@code task} on the loop thread, after everything queued before it. False if full. */
    public boolean execute(Consumer<Certifier> task) {
        return wakeIf(queue.offer(task));
    }

    private boolean wakeIf(boolean queued) {
        if (queued) {
            idle.wake();
        }
        return queued;
    }

    public int queued() {
        return queue.size();
    }

    /** Stops the loop; transactions still queued are told with {@link Callback#notCertified()}. */
    @Override
    public void close() {
        closed = true;
        runner.close();
        stopped = true;
        drainClosed();
    }

    /**
     * Tells what is queued that it will not be certified. Only once the loop thread has stopped, and
     * under a lock: the queue has one consumer at a time, as it requires.
     */
    private void drainClosed() {
        synchronized (drainLock) {
            if (!stopped) {
                return; // close() drains once the loop thread has stopped
            }
            Object item;
            while ((item = queue.poll()) != null) {
                if (item instanceof Submission s) {
                    s.callback.notCertified();
                }
            }
        }
    }

    private final class LoopAgent implements Agent {
        @Override
        @SuppressWarnings("unchecked")
        public int doWork() {
            int work = 0;
            long mark = certifier.mark();
            Object item;
            while (work < maxBatch && (item = queue.poll()) != null) {
                work++;
                if (item instanceof Submission s) {
                    final long before = certifier.mark();
                    final Decision d;
                    try {
                        d = certifier.certify(s.txn);
                    } catch (RuntimeException e) {
                        // A bug must not leave a caller waiting forever, nor half a commit in the
                        // state: report it, take back what it changed, tell the caller, go on.
                        errors.onError(e);
                        if (certifier.undoable()) {
                            certifier.rollbackTo(before);
                        }
                        s.callback.notCertified();
                        continue;
                    }
                    batch.add(new Certified(s.txn, s.attachment, d, s.callback, certifier.mark()));
                } else {
                    flush(mark);
                    ((Consumer<Certifier>) item).accept(certifier);
                    mark = certifier.mark();
                }
            }
            flush(mark);
            idle.wakeBy(handler.tick(certifier));
            return work;
        }

        private void flush(long mark) {
            if (!batch.isEmpty()) {
                List<Certified> out = List.copyOf(batch);
                batch.clear();
                handler.onBatch(certifier, mark, certifier.mark(), out);
            }
        }

        @Override
        public String roleName() {
            return "presage-certifier";
        }
    }
}
