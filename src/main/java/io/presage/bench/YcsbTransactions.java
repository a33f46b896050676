package io.presage.bench;

import java.util.SplittableRandom;

import io.presage.certify.TxnRequest;

/**
 * The certification benchmark's workload: 4 keys per transaction over a large key space —
 * 50 % read-only, 25 % read-modify-write of the same keys, 25 % read three keys and write a
 * different one (the case adaptive certification exists for: its reads can go stale while nothing
 * touched what it writes). Versions read come from {@link #versions}, the benchmark's stand-in for
 * the database, which the driver updates on every commit.
 */
public final class YcsbTransactions {
    public static final int KEYS_PER_TXN = 4;

    public enum Kind { READ_ONLY, READ_MODIFY_WRITE, READ_SEVERAL_WRITE_ONE }

    private final String[] keys;
    private final long[] versions;
    private final ZipfKeys zipf;
    private final SplittableRandom rnd;
    private final int[] picked = new int[KEYS_PER_TXN];

    public YcsbTransactions(int keyCount, double theta, long seed) {
        this.keys = new String[keyCount];
        for (int i = 0; i < keyCount; i++) {
            keys[i] = "user" + i;
        }
        this.versions = new long[keyCount];
        this.zipf = new ZipfKeys(keyCount, theta);
        this.rnd = new SplittableRandom(seed);
    }

    public long[] versions() {
        return versions;
    }

    public String key(int i) {
        return keys[i];
    }

    /** Current version of a key by name (cold lookups), -1 if it is not one of ours. */
    public long versionOf(String key) {
        if (!key.startsWith("user")) {
            return -1;
        }
        return versions[Integer.parseInt(key, 4, key.length(), 10)];
    }

    public Kind nextKind() {
        int r = rnd.nextInt(4);
        return r < 2 ? Kind.READ_ONLY : r == 2 ? Kind.READ_MODIFY_WRITE : Kind.READ_SEVERAL_WRITE_ONE;
    }

    /** A transaction of the given kind that reads the versions current now. */
    public TxnRequest next(Kind kind) {
        pickDistinct();
        switch (kind) {
            case READ_ONLY:
                return read(KEYS_PER_TXN);
            case READ_MODIFY_WRITE: {
                String[] rk = readKeys(KEYS_PER_TXN);
                return new TxnRequest(rk, readVersions(KEYS_PER_TXN), rk.clone());
            }
            default:
                return new TxnRequest(readKeys(KEYS_PER_TXN - 1), readVersions(KEYS_PER_TXN - 1),
                        new String[] {keys[picked[KEYS_PER_TXN - 1]]});
        }
    }

    /** Records a commit in the stand-in database. */
    public void committed(TxnRequest txn, long timestamp) {
        for (int i = 0; i < txn.writeCount(); i++) {
            String k = txn.writeKey(i);
            versions[Integer.parseInt(k, 4, k.length(), 10)] = timestamp;
        }
    }

    private TxnRequest read(int n) {
        return new TxnRequest(readKeys(n), readVersions(n), new String[0]);
    }

    private String[] readKeys(int n) {
        String[] rk = new String[n];
        for (int i = 0; i < n; i++) {
            rk[i] = keys[picked[i]];
        }
        return rk;
    }

    private long[] readVersions(int n) {
        long[] rv = new long[n];
        for (int i = 0; i < n; i++) {
            rv[i] = versions[picked[i]];
        }
        return rv;
    }

    private void pickDistinct() {
        for (int i = 0; i < KEYS_PER_TXN; i++) {
            int k;
            boolean dup;
            do {
                k = zipf.next(rnd);
                dup = false;
                for (int j = 0; j < i; j++) {
                    dup |= picked[j] == k;
                }
            } while (dup);
            picked[i] = k;
        }
    }
}
