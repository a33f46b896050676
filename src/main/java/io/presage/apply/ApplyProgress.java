package io.presage.apply;

import java.util.function.LongConsumer;

/** How far a node's applier has made the log durable in its store. */
public interface ApplyProgress {
    /** Last log sequence durably applied. */
    long appliedSequence();

    /** Called (on the applier's thread) after each durable apply with the new applied sequence. */
    void onApplied(LongConsumer listener);

    /** Messages that could not be decoded and were parked on the dead-letter subject. */
    long deadLetters();
}
