package io.presage.coord;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import io.presage.log.BatchCodec;
import io.presage.log.LogBatch;
import io.presage.log.LogTxn;
import io.presage.log.LogWrite;

/**
 * Group commit splits its messages by {@link GroupCommit#estimate}: the estimates must cover what the
 * transactions take in a batch, whatever their text, or a message can pass the NATS server's
 * max_payload and fail every commit in it. Ids of CJK text took three times what was counted.
 */
class GroupCommitEstimateProperties {

    /** ASCII, two-byte Latin and Greek, three-byte CJK. */
    private static Arbitrary<String> text(int min, int max) {
        return Arbitraries.strings().withCharRange(' ', '~').withCharRange('\u00c0', '\u03ff')
                .withCharRange('\u4e00', '\u9fff').ofMinLength(min).ofMaxLength(max);
    }

    @Provide
    Arbitrary<List<TxnSpec>> batches() {
        return transaction().list().ofMinSize(1).ofMaxSize(40);
    }

    private static Arbitrary<TxnSpec> transaction() {
        Arbitrary<TxnSpec.Write> write = Combinators.combine(text(1, 64), Arbitraries.integers().between(-1, 300))
                .as((k, n) -> n < 0 ? new TxnSpec.Write(k, null) : new TxnSpec.Write(k, ("\"" + "v".repeat(n) + "\"").getBytes()));
        Arbitrary<TxnSpec.Read> read = text(1, 64).map(k -> new TxnSpec.Read(k, 7));
        return Combinators.combine(text(1, 128).injectNull(0.2), read.list().ofMaxSize(3), write.list().ofMaxSize(3),
                text(1, 40), text(1, 60).map(r -> "\"" + r + "\"").injectNull(0.7))
                .as(TxnSpec::new);
    }

    @Property(tries = 300)
    void theEstimatesCoverABatchOfTheTransactions(@ForAll("batches") List<TxnSpec> specs) {
        long estimated = 0;
        List<LogTxn> txns = new ArrayList<>(specs.size());
        for (TxnSpec spec : specs) {
            estimated += GroupCommit.estimate(spec);
            List<LogWrite> writes = new ArrayList<>();
            for (TxnSpec.Write w : spec.writes()) {
                writes.add(w.delete() ? LogWrite.remove(w.key()) : LogWrite.put(w.key(), w.valueJson()));
            }
            List<String> reads = spec.reads().stream().map(TxnSpec.Read::key).toList();
            long ts = Long.MAX_VALUE - 1; // the longest varint a timestamp takes
            txns.add(new LogTxn(ts, spec.id(), true, spec.origin(), writes, Map.of(spec.origin(), ts), reads, spec.result()));
        }
        int encoded = new BatchCodec(Integer.MAX_VALUE).encode(LogBatch.of("coordinator", Long.MAX_VALUE, 0, Long.MAX_VALUE, txns)).length;
        assertTrue(encoded <= estimated, "encoded " + encoded + " bytes, estimated " + estimated);
    }
}
