package io.presage.apply;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.stream.LongStream;

import org.junit.jupiter.api.Test;

import io.presage.log.LogMessage;

class ApplierPagesTest {

    @Test
    void aPageIsAppliedFromPastTheAppliedSequence() {
        assertEquals(List.of(5L, 6L, 7L), sequences(Applier.unapplied(page(3, 7), 4)));
        assertEquals(List.of(), sequences(Applier.unapplied(page(3, 7), 7)));
    }

    @Test
    void aPageThatStartsAboveTheAppliedSequenceIsKeptForTheGapFill() {
        assertEquals(List.of(9L, 10L), sequences(Applier.unapplied(page(9, 10), 4)));
    }

    @Test
    void aToppedUpPageWhoseSecondPullStartsOverIsCutWhereItStopsFollowingOn() {
        // 5..44, then a consumer re-created at its ack floor delivering 5..28 again
        List<LogMessage> merged = new java.util.ArrayList<>(page(5, 44));
        merged.addAll(page(5, 28));
        assertEquals(LongStream.rangeClosed(5, 44).boxed().toList(), sequences(Applier.unapplied(merged, 4)));
    }

    @Test
    void aToppedUpPageWithAHoleBetweenItsPullsIsCutAtTheHole() {
        List<LogMessage> merged = new java.util.ArrayList<>(page(5, 8));
        merged.addAll(page(10, 12));
        assertEquals(List.of(5L, 6L, 7L, 8L), sequences(Applier.unapplied(merged, 4)));
    }

    private static List<LogMessage> page(long from, long to) {
        return LongStream.rangeClosed(from, to).mapToObj(s -> new LogMessage(s, "mirror.log.0", new byte[0], 0)).toList();
    }

    private static List<Long> sequences(List<LogMessage> messages) {
        return messages.stream().map(LogMessage::sequence).toList();
    }
}
