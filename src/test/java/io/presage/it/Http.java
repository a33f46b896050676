package io.presage.it;

import static io.restassured.RestAssured.given;

import java.time.Duration;
import java.time.Instant;

import io.restassured.http.ContentType;
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
}
