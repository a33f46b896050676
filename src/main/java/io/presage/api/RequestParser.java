package io.presage.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.LongSupplier;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;

import io.presage.config.Limits;
import io.presage.coord.TxnSpec;

/**
 * Turns request bodies into validated requests with messages that say exactly what is wrong. Bodies
 * are parsed here rather than bound by the framework so that every malformed input gets the API's
 * error, and size limits are checked before any parsing work.
 */
public final class RequestParser {
    /** API.md: a client-chosen transaction id is at most 128 characters. */
    public static final int MAX_ID_CHARS = 128;
    /**
     * A procedure call's id is at most this long: its attempts are committed as {@code "<id>#n"}
     * (see {@link io.presage.proc.Attempts}), which must stay within {@link #MAX_ID_CHARS}.
     */
    public static final int MAX_PROCEDURE_ID_CHARS = 120;

    private final ObjectMapper json;
    /**
     * Reads numbers with a fraction or exponent as exact decimals, trailing zeros kept, even with a
     * mapper not set up by {@link ExactNumbers} (tests, benchmarks). "A value is any JSON value"
     * (API.md), so it must come back as sent: read as a double, {@code 1e400} became the string
     * {@code "Infinity"}, {@code -1E-400} became {@code -0.0} and {@code 0.10000000000000000000001}
     * lost its last digit. Integers are unaffected (Jackson already reads them as int, long or
     * BigInteger, whichever fits).
     */
    private final ObjectReader reader;
    /** For transactions: {@link ExactNumbers#TRANSACTION_DEPTH}. */
    private final ObjectReader txnReader;
    private final Limits limits;
    /** The log's largest message (NATS max_payload), 0 while unknown. */
    private final LongSupplier logMaxPayload;

    /** A parser held to the configured limits only. */
    public RequestParser(ObjectMapper json, Limits limits) {
        this(json, limits, () -> 0);
    }

    /**
     * A parser that also keeps every write within what one log message can carry: a transaction is
     * published as one message, so one larger than the NATS server's max_payload (1 MB by default,
     * below the default 8 MB transaction limit) could never commit; refused here it gets 413 instead
     * of a 503 that no retry could cure.
     */
    public RequestParser(ObjectMapper json, Limits limits, LongSupplier logMaxPayload) {
        this.json = json;
        this.reader = ExactNumbers.treeReader(json);
        this.txnReader = ExactNumbers.treeReader(json, ExactNumbers.TRANSACTION_DEPTH);
        this.limits = limits;
        this.logMaxPayload = logMaxPayload;
    }

    /**
     * Room for a transaction's writes in one log message: max_payload less the headers, the batch and
     * transaction framing, and LZ4's worst-case growth of incompressible data (n/255 + 16). Its writes
     * take at most the request body's bytes (JSON syntax costs more than the log's framing per key).
     * 0: no log limit known.
     */
    int logRoom() {
        long max = logMaxPayload.getAsLong();
        return max <= 0 ? 0 : (int) Math.max(1, max - max / 250 - 4096);
    }

    private int txnLimit() {
        int room = logRoom();
        return room == 0 ? limits.txnBytes() : Math.min(limits.txnBytes(), room);
    }

    /** A PUT's value goes in the log beside its key. */
    private int valueLimit() {
        int room = logRoom();
        return room == 0 ? limits.valueBytes() : Math.min(limits.valueBytes(), Math.max(1, room - limits.keyBytes()));
    }

    private String limitNote(int limit, int configured) {
        return limit < configured ? " (what one log message can carry: the NATS server's max_payload is "
                + logMaxPayload.getAsLong() + " bytes)" : "";
    }

    public JsonNode parse(byte[] body, int maxBytes, String what) {
        return parse(body, maxBytes, maxBytes, what);
    }

    /** {@code configured}: the configured limit that {@code maxBytes} may be lower than (see {@link #logRoom}). */
    private JsonNode parse(byte[] body, int maxBytes, int configured, String what) {
        return parse(body, maxBytes, configured, what, reader);
    }

    private JsonNode parse(byte[] body, int maxBytes, int configured, String what, ObjectReader reader) {
        if (body == null || body.length == 0) {
            throw ApiException.badRequest(what + " is required in the request body");
        }
        if (body.length > maxBytes) {
            throw ApiException.tooLarge(what + " is " + body.length + " bytes; the limit is " + maxBytes
                    + limitNote(maxBytes, configured));
        }
        try {
            JsonNode node = reader.readTree(body);
            if (node == null || node.isMissingNode()) {
                throw ApiException.badRequest(what + " is required in the request body");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("malformed JSON: " + e.getOriginalMessage());
        } catch (NumberFormatException | ArithmeticException e) {
            // Jackson's decimal parsing gives up on exponents beyond an int (1e2147483648) this way.
            throw ApiException.badRequest("malformed JSON: a number that cannot be read exactly (" + e.getMessage() + ")");
        } catch (IOException e) {
            throw ApiException.badRequest("unreadable request body");
        }
    }

    /** A PUT body: any JSON value, kept as compact JSON text. */
    public byte[] value(byte[] body) {
        int max = valueLimit();
        byte[] stored = compact(parse(body, max, limits.valueBytes(), "the value"));
        // As stored, a value can be longer than as sent (123e47 is kept as 1.23E+49), and the limit is
        // on what is stored, as for a transaction's writes.
        if (stored.length > max) {
            throw ApiException.tooLarge("the value is " + stored.length + " bytes as stored (numbers in their exact form); the limit is "
                    + max + limitNote(max, limits.valueBytes()));
        }
        return stored;
    }

    /** The {@code speculative} query parameter: absent or false, true; anything else is 400 at either role. */
    public static boolean speculative(String speculative) {
        if (speculative == null || "false".equalsIgnoreCase(speculative)) {
            return false;
        }
        if ("true".equalsIgnoreCase(speculative)) {
            return true;
        }
        throw ApiException.badRequest("speculative must be true or false, not '" + speculative + "'");
    }

    public String key(String key) {
        return Keys.check(key, limits.keyBytes());
    }

    /** A transaction id in a path ({@code GET /v1/transactions/{id}}): as the body's {@code id}. */
    public String transactionId(String id) {
        return Keys.checkId(id, MAX_ID_CHARS, "a transaction id");
    }

    /**
     * The largest {@code result} a transaction may carry. Results are held in memory with their ids
     * (as many as the coordinator remembers, 100,000), so they are bounded well below a value; the
     * largest a built-in procedure gives is two numbers of 1,000 digits.
     */
    static final int MAX_RESULT_BYTES = 16 * 1024;

    public TxnSpec transaction(byte[] body, String origin) {
        JsonNode root = parse(body, txnLimit(), limits.txnBytes(), "a transaction", txnReader);
        requireObject(root, "the transaction");
        String id = null;
        JsonNode idNode = root.get("id");
        if (idNode != null && !idNode.isNull()) {
            if (!idNode.isTextual()) {
                throw ApiException.badRequest("id must be a string of 1 to " + MAX_ID_CHARS + " characters");
            }
            id = Keys.checkId(idNode.asText(), MAX_ID_CHARS, "id");
        }
        if (absent(root, "reads") && absent(root, "writes")) {
            // Either may be left out (a read-only check, a blind write), not both: {} is a request that
            // lost its fields on the way, not a transaction, and API.md has missing fields be 400.
            throw ApiException.badRequest("a transaction needs reads or writes (or both): neither was sent");
        }
        List<TxnSpec.Read> reads = new ArrayList<>();
        Set<String> readKeys = new HashSet<>();
        for (JsonNode r : array(root, "reads")) {
            requireObject(r, "each read");
            String key = key(text(r, "key", "each read"));
            JsonNode v = r.get("version");
            if (v == null || !v.canConvertToLong() || !v.isIntegralNumber()) {
                throw ApiException.badRequest("read of '" + key + "': version must be an integer from 0 to "
                        + Long.MAX_VALUE);
            }
            if (v.asLong() < 0) {
                throw ApiException.badRequest("read of '" + key + "': version must not be negative");
            }
            if (!readKeys.add(key)) {
                throw ApiException.badRequest("key '" + key + "' is read twice");
            }
            reads.add(new TxnSpec.Read(key, v.asLong()));
        }
        List<TxnSpec.Write> writes = new ArrayList<>();
        Set<String> writeKeys = new HashSet<>();
        for (JsonNode w : array(root, "writes")) {
            requireObject(w, "each write");
            String key = key(text(w, "key", "each write"));
            JsonNode del = w.get("delete");
            boolean delete = false;
            if (del != null && !del.isNull()) {
                if (!del.isBoolean()) {
                    throw ApiException.badRequest("write of '" + key + "': delete must be true or false");
                }
                delete = del.asBoolean();
            }
            JsonNode value = w.get("value");
            if (delete && value != null) {
                throw ApiException.badRequest("write of '" + key + "': give a value or delete, not both");
            }
            if (!delete && value == null) {
                throw ApiException.badRequest("write of '" + key + "': value is required (or \"delete\": true)");
            }
            byte[] valueJson = delete ? null : compact(value);
            if (valueJson != null && valueJson.length > limits.valueBytes()) {
                throw ApiException.tooLarge("value of '" + key + "' is " + valueJson.length
                        + " bytes; the limit is " + limits.valueBytes());
            }
            if (!writeKeys.add(key)) {
                throw ApiException.badRequest("key '" + key + "' is written twice");
            }
            writes.add(new TxnSpec.Write(key, valueJson));
        }
        if (reads.size() + writes.size() > limits.txnKeys()) {
            throw ApiException.tooLarge("the transaction touches " + (reads.size() + writes.size())
                    + " keys; the limit is " + limits.txnKeys());
        }
        // A procedure attempt sent as a plain transaction (by a mirror) carries its result, kept with the
        // id so that the call's retries at any node answer it.
        JsonNode resultNode = root.get("result");
        byte[] result = resultNode == null || resultNode.isNull() ? null : compact(resultNode);
        if (result != null && id == null) {
            throw ApiException.badRequest("result is kept with the transaction's id: give an id with it");
        }
        int maxResult = Math.min(limits.valueBytes(), MAX_RESULT_BYTES);
        if (result != null && result.length > maxResult) {
            throw ApiException.tooLarge("result is " + result.length + " bytes; the limit is " + maxResult);
        }
        return new TxnSpec(id, List.copyOf(reads), List.copyOf(writes), origin,
                result == null ? null : new String(result, StandardCharsets.UTF_8));
    }

    /** {@code {"keys": [...]}} for batch reads and reconciliation. */
    public List<String> keys(byte[] body) {
        JsonNode root = parse(body, limits.txnBytes(), "a key list");
        requireObject(root, "the request");
        return keys(root);
    }

    /** The {@code keys} of a parsed request object, checked as {@link #keys(byte[])} does. */
    public List<String> keys(JsonNode root) {
        List<String> keys = new ArrayList<>();
        JsonNode arr = root.get("keys");
        if (arr == null || !arr.isArray()) {
            throw ApiException.badRequest("keys must be an array of strings");
        }
        if (arr.size() > limits.batchKeys()) {
            throw ApiException.tooLarge(arr.size() + " keys; the limit is " + limits.batchKeys());
        }
        for (JsonNode k : arr) {
            if (!k.isTextual()) {
                throw ApiException.badRequest("keys must be an array of strings");
            }
            keys.add(key(k.asText()));
        }
        return keys;
    }

    public JsonNode object(byte[] body, String what) {
        JsonNode root = parse(body, limits.txnBytes(), what);
        requireObject(root, what);
        return root;
    }

    /**
     * The value as compact JSON. Integers, the common case (counters, balances), are written
     * directly: through the mapper each value cost a generator and its buffers (4 % of the
     * coordinator's allocation under commit load). The text is the same.
     */
    public byte[] compact(JsonNode v) {
        if (v.isInt() || v.isLong()) {
            return Long.toString(v.longValue()).getBytes(StandardCharsets.US_ASCII);
        }
        try {
            return json.writeValueAsBytes(v);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("value cannot be written as JSON");
        }
    }

    private static boolean absent(JsonNode root, String field) {
        JsonNode a = root.get(field);
        return a == null || a.isNull();
    }

    private static Iterable<JsonNode> array(JsonNode root, String field) {
        if (absent(root, field)) {
            return List.of();
        }
        JsonNode a = root.get(field);
        if (!a.isArray()) {
            throw ApiException.badRequest(field + " must be an array");
        }
        return a;
    }

    private static String text(JsonNode node, String field, String what) {
        JsonNode t = node.get(field);
        if (t == null || !t.isTextual()) {
            throw ApiException.badRequest(what + " needs a string " + field);
        }
        return t.asText();
    }

    private static void requireObject(JsonNode n, String what) {
        if (!n.isObject()) {
            throw ApiException.badRequest(what + " must be a JSON object");
        }
    }

    public static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
