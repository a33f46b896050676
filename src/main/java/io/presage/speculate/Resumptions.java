package io.presage.speculate;

import java.util.Collection;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Speculations a restart left undecided, waiting to be resumed. Each needs its id claimed in the
 * {@link SpeculationTable} first, and a claim can fail for a while: a client retrying the same id right
 * after the restart holds it until its own record of the id is refused (the store has it), and after an
 * outage the table may be full of new speculations. Recovery read the store once; what it could not
 * resume then stays here and is tried again ({@link #retry}, on every refresh) until it is resumed:
 * dropped, it would stay SPECULATIVE, its outcome never decided nor its row forgotten, until the next
 * restart.
 *
 * @param <R> a recorded speculation
 */
public final class Resumptions<R> {
    private final Queue<R> waiting = new ConcurrentLinkedQueue<>();
    private final SpeculationTable table;
    private final Function<R, String> id;
    private final BiConsumer<Speculation, R> resume;

    /** {@code resume}: carries on with a recorded speculation whose id was just claimed for it. */
    public Resumptions(SpeculationTable table, Function<R, String> id, BiConsumer<Speculation, R> resume) {
        this.table = table;
        this.id = id;
        this.resume = resume;
    }

    public void add(Collection<R> recorded) {
        waiting.addAll(recorded);
    }

    /** Resumes every waiting speculation whose id can be claimed now; returns how many. */
    public int retry() {
        int resumed = 0;
        for (int n = waiting.size(); n > 0; n--) {
            R r = waiting.poll();
            if (r == null) {
                break;
            }
            SpeculationTable.Claim c = table.claim(id.apply(r));
            if (c != null && !c.created() && c.speculation().view().status().finished()) {
                continue; // taken over by a client's retry meanwhile, and decided: its outcome is recorded
            }
            if (c == null || !c.created()) {
                waiting.add(r); // no slot yet, or the id held by a client's retry that may still give it up
                continue;
            }
            resume.accept(c.speculation(), r);
            resumed++;
        }
        return resumed;
    }

    public int waiting() {
        return waiting.size();
    }
}
