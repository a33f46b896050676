package io.presage.it;

import static io.restassured.RestAssured.given;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import io.restassured.http.ContentType;
import io.restassured.path.json.JsonPath;
import io.restassured.response.Response;

/** Small HTTP helpers for the integration tests. */
final class Http {
    private Http() {
    }

    static void awaitReady(Duration max) {
        Instant end = Instant.now().plus(max);
        int status = -1;
        while (Instant.now().isBefore(end)) {
            status = given().get("/q/health/ready").statusCode();
            if (status == 200) {
                return;
            }
            sleep(200);
        }
        throw new AssertionError("not ready after " + max + " (last status " + status + "): "
                + given().get("/q/health/ready").asString());
    }

    static Response put(String key, String json) {
        return given().contentType(ContentType.JSON).body(json).put("/v1/kv/{k}", key);
    }

    static Response get(String key) {
        return given().get("/v1/kv/{k}", key);
    }

    static Response post(String path, String json) {
        return given().contentType(ContentType.JSON).body(json).post(path);
    }

    static long version(String key) {
        Response r = get(key);
        return r.statusCode() == 200 || r.statusCode() == 404 ? r.jsonPath().getLong("version") : -1;
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static JsonPath status() {
        return given().get("/v1/status").jsonPath();
    }

    /** Polls {@code /v1/status} until {@code condition} holds, for at most 30 s. */
    static void awaitStatus(Predicate<JsonPath> condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        JsonPath s = status();
        while (!condition.test(s)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not " + what + " in time: " + s.prettify());
            }
            sleep(20);
            s = status();
        }
    }

    static void awaitApplied(long sequence) {
        awaitStatus(s -> s.getLong("appliedSequence") >= sequence, "applied up to " + sequence);
    }

    /** The first sample of metric {@code name} in {@code /q/metrics}. */
    static double metric(String name) {
        for (String line : given().get("/q/metrics").asString().split("\n")) {
            if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError(name + " not in /q/metrics");
    }

    /** The log sequence of a committed answer, from its token. */
    static long sequenceOf(Response committed) {
        return io.presage.coord.Tokens.anyPosition(committed.jsonPath().getString("token"));
    }

    /** 503 UNAVAILABLE as JSON, with a message. */
    static void assertUnavailable(Response r) {
        assertEquals(503, r.statusCode(), r.asString());
        assertEquals("UNAVAILABLE", r.jsonPath().getString("error"), r.asString());
        assertNotNull(r.jsonPath().getString("message"), r.asString());
    }

    /** Until {@code c} holds, looked at every 10 ms; fails after 30 s saying what was awaited. */
    static void await(java.util.function.BooleanSupplier c, String what) throws InterruptedException {
        io.presage.testing.Await.until(c, what, 30, 10);
    }
}
