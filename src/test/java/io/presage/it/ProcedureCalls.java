package io.presage.it;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Procedure calls that a client can count on: each carries an idempotency id ({@code ?id=}) and is sent
 * again with the same id after a connection error, a 503 or a 504, until a definitive answer (200
 * COMMITTED or 409 ABORTED). A retry of an id returns the first outcome, so for each id the client
 * knows whether it committed, whichever node (coordinator, or a mirror forwarding it) it went to.
 */
final class ProcedureCalls {

    /** One procedure call as the client issued it. */
    record Op(String procedure, String key, String from, String to, long amount) {
        static Op increment(String key) {
            return new Op("increment", key, null, null, 1);
        }

        static Op transfer(String from, String to, long amount) {
            return new Op("transfer", null, from, to, amount);
        }

        String body() {
            return procedure.equals("increment") ? "{\"key\":\"" + key + "\",\"by\":1}"
                    : "{\"from\":\"" + from + "\",\"to\":\"" + to + "\",\"amount\":" + amount + "}";
        }
    }

    enum Kind { COMMITTED, ABORTED }

    /**
     * The definitive answer for an id; {@code lostAnswers}: connection errors / 503s / 504s before it;
     * {@code result}: the procedure's result when committed (null if the answer had none).
     */
    record Outcome(Op op, Kind kind, String reason, int lostAnswers, long answeredAtNanos, String token, JsonNode result) {
    }

    final AtomicInteger connectionErrors = new AtomicInteger();
    final AtomicInteger unavailable = new AtomicInteger();
    /** Problems found by client threads, reported by the test at the end. */
    final List<String> failures = Collections.synchronizedList(new ArrayList<>());
    /** After this (System.nanoTime), a call still without a definitive answer gives up and is reported. */
    final AtomicLong settleDeadline = new AtomicLong(Long.MAX_VALUE);

    /** Calls {@code op} at {@code node} with {@code id} until a definitive answer; null (and a failure) if none. */
    Outcome callUntilAnswered(URI node, Op op, String id) {
        HttpRequest request = JsonHttp.post(node.resolve("/v1/procedures/" + op.procedure() + "?id=" + id), op.body());
        int lost = 0;
        while (true) {
            if (System.nanoTime() > settleDeadline.get()) {
                failures.add(id + " " + op + " at " + node + ": no definitive answer by the end (" + lost + " tries lost)");
                return null;
            }
            HttpResponse<String> r;
            try {
                r = JsonHttp.CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
            } catch (IOException e) {
                connectionErrors.incrementAndGet();
                lost++;
                JsonHttp.pause(100);
                continue;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                failures.add(id + ": interrupted");
                return null;
            }
            if (r.statusCode() == 503 || r.statusCode() == 504) {
                unavailable.incrementAndGet();
                lost++;
                JsonHttp.pause(50);
                continue;
            }
            JsonNode body = JsonHttp.tree(r.body());
            if (r.statusCode() == 200 && "COMMITTED".equals(body.path("status").asText())) {
                return new Outcome(op, Kind.COMMITTED, null, lost, System.nanoTime(), body.path("token").asText(null),
                        body.get("result"));
            }
            if (r.statusCode() == 409 && "ABORTED".equals(body.path("status").asText())) {
                return new Outcome(op, Kind.ABORTED, body.path("reason").asText(), lost, System.nanoTime(), null, null);
            }
            failures.add(id + " " + op + " at " + node + ": unexpected answer " + r.statusCode() + " " + r.body());
            return null;
        }
    }
}
