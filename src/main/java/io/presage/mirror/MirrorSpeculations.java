package io.presage.mirror;

import java.security.SecureRandom;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.presage.coord.Tokens;
import io.presage.coord.TxnSpec;
import io.presage.proc.Procedure;
import io.presage.speculate.Speculation;
import io.presage.speculate.SpeculationTable;
import io.presage.speculate.Speculator;

/**
 * The mirror's speculative transactions (package {@link io.presage.speculate}): the table of known
 * speculations, the driver wired to this mirror's coordinator client and applied position, ids for
 * calls that bring none, and the metrics {@code presage_speculations_total{outcome}} and
 * {@code presage_speculations_pending}.
 */
final class MirrorSpeculations {
    private static final int MAX_FINISHED_KEPT = 100_000;
    private static final SecureRandom IDS = new SecureRandom();

    private final SpeculationTable table;
    private final Speculator speculator;
    private final String idPrefix;
    private final Map<Speculation.Status, Counter> outcomes = new EnumMap<>(Speculation.Status.class);

    MirrorSpeculations(String nodeId, int maxPending, long retentionMillis, CoordinatorClient client,
            ReconcileBatcher reconciler, PositionWaiters waiters, ObjectMapper json, MeterRegistry registry) {
        this.table = new SpeculationTable(maxPending, MAX_FINISHED_KEPT, retentionMillis);
        this.idPrefix = (nodeId.length() > 32 ? nodeId.substring(0, 32) : nodeId) + "-s-";
        for (Speculation.Status s : Speculation.Status.values()) {
            if (s.finished()) {
                outcomes.put(s, Counter.builder("presage_speculations_total").description("speculative transactions finished, by outcome")
                        .tag("outcome", s.name().toLowerCase(java.util.Locale.ROOT)).register(registry));
            }
        }
        registry.gauge("presage_speculations_pending", table, SpeculationTable::pending);
        this.speculator = new Speculator(new SpeculationCommits(client, reconciler, json), waiters::await, json, nodeId,
                this::finished);
    }

    /** A fresh id for a call that brought none: this node's, random, well within the 120 characters ids may have. */
    String newId() {
        return idPrefix + Long.toUnsignedString(IDS.nextLong(), 36) + Long.toUnsignedString(IDS.nextLong(), 36);
    }

    /** See {@link SpeculationTable#claim}. */
    SpeculationTable.Claim claim(String id) {
        return table.claim(id);
    }

    void abandon(Speculation s) {
        table.abandon(s);
    }

    void procedure(Speculation s, Procedure p, JsonNode args, Speculator.Snapshot local) {
        speculator.procedure(s, p, args, local);
    }

    void transaction(Speculation s, TxnSpec txn) {
        speculator.transaction(s, txn);
    }

    Speculation get(String id) {
        return table.get(id);
    }

    private void finished(Speculation s) {
        table.finished(s);
        outcomes.get(s.view().status()).increment();
    }

    Map<String, Object> status() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pending", table.pending());
        outcomes.forEach((s, c) -> m.put(s.name().toLowerCase(java.util.Locale.ROOT), (long) c.count()));
        return m;
    }

    /** The JSON fields of {@code GET /v1/transactions/{id}} (and of the 202, which is the first view). */
    static Map<String, Object> body(Speculation.View v) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", v.status().name());
        m.put("id", v.id());
        if (v.result() != null) {
            m.put("result", v.result());
        }
        if (v.speculativeResult() != null && v.status() != Speculation.Status.SPECULATIVE) {
            m.put("speculativeResult", v.speculativeResult());
        }
        m.put("attempts", v.attempts());
        if (v.sequence() > 0) {
            m.put("timestamp", v.timestamp());
            m.put("adjusted", v.adjusted());
            m.put("token", Tokens.of(v.sequence()));
        }
        if (v.reason() != null) {
            m.put("reason", v.reason());
            m.put("conflicts", v.conflicts());
        }
        if (v.message() != null) {
            m.put("message", v.message());
        }
        return m;
    }
}
