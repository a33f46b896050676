package io.presage.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;

/**
 * The commit bench's transaction as HTTP text: a read-modify-write of two keys of a large key space
 * ({@code bench-k0}, {@code bench-k1}, …), what a read of a key answers, and the balances preloaded for
 * the procedure workload. Text in and out only, so that it is checked without a server.
 */
final class CommitWorkload {

    private static final JsonFactory JSON = JsonFields.JSON;

    private CommitWorkload() {
    }

    static String key(int i) {
        return "bench-k" + i;
    }

    /** What a read returns: the version (0 if never written) and the value if it is a whole number. */
    record Item(long version, long number) {
        /** A {@code GET /v1/kv/{key}} answer, found (200) or not (404). */
        static Item parse(byte[] json) throws IOException {
            try (JsonParser p = JSON.createParser(json)) {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw new IOException("not a JSON object");
                }
                return fields(p);
            }
        }

        /** The items of a {@code POST /v1/kv/_batch} answer, in order. */
        static List<Item> parseBatch(byte[] json) throws IOException {
            List<Item> items = new ArrayList<>(2);
            try (JsonParser p = JSON.createParser(json)) {
                if (p.nextToken() != JsonToken.START_OBJECT) {
                    throw new IOException("not a JSON object");
                }
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    JsonToken t = p.nextToken();
                    if ("items".equals(field) && t == JsonToken.START_ARRAY) {
                        while (p.nextToken() == JsonToken.START_OBJECT) {
                            items.add(fields(p));
                        }
                    } else {
                        p.skipChildren();
                    }
                }
            }
            return items;
        }

        /** The fields of the object just started, up to its end. */
        private static Item fields(JsonParser p) throws IOException {
            long version = -1;
            long number = 0;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken t = p.nextToken();
                if ("version".equals(field) && t == JsonToken.VALUE_NUMBER_INT) {
                    version = p.getLongValue();
                } else if ("value".equals(field) && t == JsonToken.VALUE_NUMBER_INT) {
                    number = p.getLongValue();
                } else {
                    p.skipChildren();
                }
            }
            if (version < 0) {
                throw new IOException("no version in the item");
            }
            return new Item(version, number);
        }
    }

    /**
     * The read-modify-write: both versions read, each value plus one (with {@code withReads} false, the
     * same writes blind), under the idempotency {@code id} unless it is null. Keys and ids need no JSON escaping.
     */
    static String transactionBody(String ka, Item ra, String kb, Item rb, boolean withReads, String id) {
        String reads = withReads ? "{\"key\":\"" + ka + "\",\"version\":" + ra.version + "},{\"key\":\"" + kb
                + "\",\"version\":" + rb.version + "}" : "";
        return "{" + (id == null ? "" : "\"id\":\"" + id + "\",") + "\"reads\":[" + reads + "],\"writes\":[{\"key\":\"" + ka + "\",\"value\":" + (ra.number + 1)
                + "},{\"key\":\"" + kb + "\",\"value\":" + (rb.number + 1) + "}]}";
    }

    static final int PRELOAD_WRITES = 500;
    static final long PRELOAD_BALANCE = 1_000_000_000L;

    /** Blind writes of the preload balance to keys {@code from} (inclusive) to {@code to} (exclusive). */
    static String accountsBody(int from, int to) {
        StringBuilder sb = new StringBuilder("{\"reads\":[],\"writes\":[");
        for (int i = from; i < to; i++) {
            sb.append(i == from ? "" : ",").append("{\"key\":\"").append(key(i)).append("\",\"value\":").append(PRELOAD_BALANCE)
                    .append('}');
        }
        return sb.append("]}").toString();
    }
}
