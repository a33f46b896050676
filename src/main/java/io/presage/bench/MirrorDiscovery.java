package io.presage.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Finds the mirrors of a running cluster without being told: {@code ./presage up --mirrors N} puts
 * mirror i on the coordinator's port + i, so the ports after the coordinator's are asked for
 * {@code /v1/status}; a node that says it is a mirror (and, when it names one, follows this
 * coordinator) is one. Loopback only, a refused port costs nothing.
 */
final class MirrorDiscovery {
    /** How many ports after the coordinator's are tried (the launcher starts at most 16 mirrors). */
    static final int PORTS = 16;
    private static final ObjectMapper JSON = new ObjectMapper();

    private MirrorDiscovery() {
    }

    static List<URI> find(URI coordinator) {
        HttpClient client = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY)
                .connectTimeout(Duration.ofMillis(500)).build();
        List<URI> found = new ArrayList<>();
        int base = BenchHttp.port(coordinator);
        for (int p = base + 1; p <= Math.min(65535, base + PORTS); p++) {
            URI node = URI.create("http://" + coordinator.getHost() + ":" + p);
            try {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(node.resolve("/v1/status"))
                        .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && isMirrorOf(r.body(), coordinator)) {
                    found.add(node);
                }
            } catch (IOException e) {
                // nothing there
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return found;
    }

    /** A {@code /v1/status} body of a mirror that follows {@code coordinator} (or does not say whom). */
    static boolean isMirrorOf(String statusJson, URI coordinator) {
        JsonNode s;
        try {
            s = JSON.readTree(statusJson);
        } catch (IOException e) {
            return false;
        }
        if (s == null || !"mirror".equals(s.path("role").asText())) {
            return false;
        }
        String url = s.path("coordinator").path("url").asText("");
        if (url.isEmpty()) {
            return true;
        }
        try {
            URI u = URI.create(url);
            return BenchHttp.port(u) == BenchHttp.port(coordinator) && sameHost(u.getHost(), coordinator.getHost());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    private static boolean sameHost(String a, String b) {
        return a != null && b != null && (a.equals(b) || isLoopback(a) && isLoopback(b));
    }

    private static boolean isLoopback(String h) {
        return h.equals("localhost") || h.startsWith("127.") || h.equals("[::1]");
    }
}
