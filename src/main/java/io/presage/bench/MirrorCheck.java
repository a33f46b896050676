package io.presage.bench;

import java.net.URI;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.bench.BenchHttp.Reply;
import io.vertx.core.http.HttpMethod;

/** What the benchmarks run at a mirror check first: that the node is a mirror, and ready. */
final class MirrorCheck {
    private static final ObjectMapper JSON = new ObjectMapper();

    private MirrorCheck() {
    }

    /** Waits until the node at {@code url} is a ready mirror; returns its coordinator ({@code givenCoordinator} if set). */
    static URI ready(BenchHttp http, URI url, URI givenCoordinator) throws InterruptedException {
        JsonNode status;
        try {
            Reply s = http.await(HttpMethod.GET, url, "/v1/status");
            status = JSON.readTree(s.string());
        } catch (Exception e) {
            Throwable c = e.getCause() == null ? e : e.getCause();
            throw new BenchArgs.Failure("cannot reach the mirror at " + url + " (" + c.getMessage()
                    + "): run ./presage up --mirrors 1 (or more) first, or give --url");
        }
        if (!"mirror".equals(status.path("role").asText())) {
            throw new BenchArgs.Failure(url + " is a " + status.path("role").asText("?") + ", not a mirror: give a mirror's --url "
                    + "(./presage up --mirrors N puts them on 8081…)");
        }
        URI coordinator = givenCoordinator;
        if (coordinator == null) {
            String u = status.path("coordinator").path("url").asText("");
            coordinator = u.isEmpty() ? URI.create("http://127.0.0.1:8080") : BenchArgs.httpUrl(u, "the mirror's coordinator.url");
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            int code;
            try {
                code = http.await(HttpMethod.GET, url, "/q/health/ready").status();
            } catch (Exception e) {
                code = -1;
            }
            if (code == 200) {
                return coordinator;
            }
            if (System.nanoTime() > deadline) {
                throw new BenchArgs.Failure("the mirror at " + url + " is still not ready after 60 s (/q/health/ready: " + code + ")");
            }
            Thread.sleep(500);
        }
    }

}
