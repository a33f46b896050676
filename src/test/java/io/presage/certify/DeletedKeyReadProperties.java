package io.presage.certify;

import static io.presage.certify.CertifierRuns.assertNoViolation;
import static io.presage.certify.CertifierRuns.assertTheOracleCatchesASkippedTrCheck;
import static io.presage.certify.CertifierRuns.newCertifier;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * Review addition: deletions, as the API presents them. The certifier's own properties never delete,
 * and {@link History} compares versions. Here some writes are deletes; a client that reads a deleted
 * (or never written) key is told version 0, as API v1 reports it; when it commits, the coordinator may
 * turn that 0 into a read of the deletion the key is at now (CoordinatorEngine.submitAsRead, when its
 * memory knows the deletion — modelled as a coin flip); cold lookups answer the store's version, a
 * deleted key's tombstone included. The oracle compares what each committed transaction <em>saw</em>
 * (a version, or "absent") with the serial replay in timestamp order, where a deleted key is absent.
 */
class DeletedKeyReadProperties {

    private record Committed(long ts, Map<String, Long> seen, Map<String, Boolean> writes) {
    }

    @Property(tries = 2000)
    void whatEachCommittedTransactionSawIsWhatTheTimestampOrderShows(@ForAll long seed) {
        assertNoViolation(seed, run(seed, false));
    }

    @Example
    void theOracleCatchesACertifierThatSkipsTheReadTimestampCheck() {
        assertTheOracleCatchesASkippedTrCheck(seed -> run(seed, true));
    }

    static String run(long seed, boolean skipTrCheck) {
        Random r = new Random(seed);
        CertifierConfig cfg = new CertifierConfig(Policy.ADAPTIVE, 1 + r.nextInt(4), 1 + r.nextInt(8), 1 << r.nextInt(3),
                1 + r.nextInt(3), 1 + r.nextInt(6));
        Map<String, Long> version = new HashMap<>(); // the store: latest version, tombstones included
        Map<String, Boolean> deleted = new HashMap<>();
        ColdVersions cold = r.nextBoolean() ? k -> version.getOrDefault(k, 0L) : ColdVersions.NONE;
        Certifier c = newCertifier(cfg, new Hlc(), cold, false, skipTrCheck);
        int keys = 2 + r.nextInt(8);
        int clients = 2 + r.nextInt(6);
        List<Map<String, Long>> reads = new ArrayList<>();
        List<Map<String, Boolean>> writes = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            reads.add(new LinkedHashMap<>());
            writes.add(new LinkedHashMap<>());
        }
        List<Committed> committed = new ArrayList<>();
        for (int step = 100 + r.nextInt(500); step > 0; step--) {
            int client = r.nextInt(clients);
            String k = "k" + r.nextInt(keys);
            int op = r.nextInt(10);
            if (op < 4) {
                long v = version.getOrDefault(k, 0L);
                reads.get(client).putIfAbsent(k, v == 0 || deleted.getOrDefault(k, false) ? 0L : v);
            } else if (op < 7) {
                writes.get(client).put(k, r.nextInt(3) == 0);
            } else {
                Map<String, Long> rs = reads.get(client);
                String[] rk = rs.keySet().toArray(String[]::new);
                long[] rv = new long[rk.length];
                for (int i = 0; i < rk.length; i++) {
                    long v = rs.get(rk[i]);
                    if (v == 0 && deleted.getOrDefault(rk[i], false) && r.nextBoolean()) {
                        v = version.get(rk[i]); // the coordinator's memory knows the deletion
                    }
                    rv[i] = v;
                }
                Decision d = c.certify(TxnRequest.of(rk, rv, writes.get(client).keySet().toArray(String[]::new)));
                if (d.committed()) {
                    committed.add(new Committed(d.timestamp(), Map.copyOf(rs), Map.copyOf(writes.get(client))));
                    for (Map.Entry<String, Boolean> w : writes.get(client).entrySet()) {
                        if (d.timestamp() <= version.getOrDefault(w.getKey(), 0L)) {
                            return "write of " + w.getKey() + " at " + d.timestamp() + " below its version";
                        }
                        version.put(w.getKey(), d.timestamp());
                        deleted.put(w.getKey(), w.getValue());
                    }
                }
                rs.clear();
                writes.get(client).clear();
            }
        }
        committed.sort(Comparator.comparingLong(Committed::ts));
        Map<String, Long> serial = new HashMap<>();
        Map<String, Boolean> serialDeleted = new HashMap<>();
        for (Committed x : committed) {
            for (Map.Entry<String, Long> e : x.seen().entrySet()) {
                long v = serial.getOrDefault(e.getKey(), 0L);
                long visible = v == 0 || serialDeleted.getOrDefault(e.getKey(), false) ? 0 : v;
                if (visible != e.getValue()) {
                    return "txn@" + x.ts() + " saw " + e.getKey() + "@" + e.getValue() + " but the serial replay has @" + visible;
                }
            }
            for (Map.Entry<String, Boolean> w : x.writes().entrySet()) {
                serial.put(w.getKey(), x.ts());
                serialDeleted.put(w.getKey(), w.getValue());
            }
        }
        return null;
    }
}
