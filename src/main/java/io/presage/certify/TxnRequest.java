package io.presage.certify;

import java.util.Arrays;

/**
 * What certification needs of a transaction: the versions it read and the keys it writes. Values
 * travel beside it (the certifier never looks at them). Arrays are owned by the request and must
 * not be changed after it is submitted.
 */
public final class TxnRequest {
    private static final String[] NO_KEYS = new String[0];
    private static final long[] NO_VERSIONS = new long[0];

    final String[] readKeys;
    final long[] readVersions;
    final String[] writeKeys;
    /**
     * {@code String.hashCode} of every key, computed by whoever builds the request — in the service
     * a request thread, not the single certifier thread, which then reaches each key's state
     * without touching the key's characters.
     */
    final int[] readHashes;
    final int[] writeHashes;

    public TxnRequest(String[] readKeys, long[] readVersions, String[] writeKeys) {
        if (readKeys.length != readVersions.length) {
            throw new IllegalArgumentException("one version per read key");
        }
        this.readKeys = readKeys;
        this.readVersions = readVersions;
        this.writeKeys = distinct(writeKeys);
        this.readHashes = hashes(this.readKeys);
        this.writeHashes = hashes(this.writeKeys);
    }

    /** A part of a request (two-phase): keys already distinct, hashes already known. */
    TxnRequest(String[] readKeys, long[] readVersions, int[] readHashes, String[] writeKeys, int[] writeHashes) {
        this.readKeys = readKeys;
        this.readVersions = readVersions;
        this.readHashes = readHashes;
        this.writeKeys = writeKeys;
        this.writeHashes = writeHashes;
    }

    public static TxnRequest of(String[] readKeys, long[] readVersions, String... writeKeys) {
        return new TxnRequest(readKeys, readVersions, writeKeys);
    }

    public static TxnRequest blindWrite(String... writeKeys) {
        return new TxnRequest(NO_KEYS, NO_VERSIONS, writeKeys);
    }

    public int readCount() {
        return readKeys.length;
    }

    public String readKey(int i) {
        return readKeys[i];
    }

    public long readVersion(int i) {
        return readVersions[i];
    }

    public int writeCount() {
        return writeKeys.length;
    }

    public String writeKey(int i) {
        return writeKeys[i];
    }

    public boolean isReadOnly() {
        return writeKeys.length == 0;
    }

    private static int[] hashes(String[] keys) {
        final int[] h = new int[keys.length];
        for (int i = 0; i < keys.length; i++) {
            h[i] = keys[i].hashCode();
        }
        return h;
    }

    /** Writing a key twice in one transaction means once; keeps each history strictly increasing. */
    private static String[] distinct(String[] keys) {
        for (int i = 1; i < keys.length; i++) {
            for (int j = 0; j < i; j++) {
                if (keys[i].equals(keys[j])) {
                    return Arrays.stream(keys).distinct().toArray(String[]::new);
                }
            }
        }
        return keys;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Txn{reads=[");
        for (int i = 0; i < readKeys.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(readKeys[i]).append('@').append(readVersions[i]);
        }
        return sb.append("], writes=").append(Arrays.toString(writeKeys)).append('}').toString();
    }
}
