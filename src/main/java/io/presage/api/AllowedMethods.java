package io.presage.api;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.ws.rs.HttpMethod;
import jakarta.ws.rs.Path;

/**
 * The methods each path of a resource class answers, for the {@code Allow} header HTTP requires on a 405.
 * Quarkus REST's router refuses a method without saying which ones the path has (its
 * {@code NotAllowedException} carries none), so the table is read once from the class's own annotations:
 * it cannot drift from the routes.
 */
final class AllowedMethods {
    private static final Pattern PARAM = Pattern.compile("\\{\\s*\\w+\\s*(?::\\s*([^}]*))?}");

    /** {@code literal}: the template's characters outside its parameters, by which JAX-RS ranks matches. */
    private record Route(Pattern path, int literal, String method) {
    }

    private final List<Route> routes = new ArrayList<>();

    AllowedMethods(Class<?> resource) {
        String base = resource.getAnnotation(Path.class).value();
        for (Method m : resource.getMethods()) {
            Path p = m.getAnnotation(Path.class);
            String http = httpMethod(m);
            if (p != null && http != null) {
                String t = (base + "/" + p.value()).replaceAll("/+", "/");
                routes.add(new Route(template(t), PARAM.matcher(t).replaceAll("").length(), http));
            }
        }
    }

    /**
     * The methods {@code path} (as requested, still encoded) is routed for, HEAD and OPTIONS included; empty if
     * none. Only the most specific matching template counts, as in JAX-RS's choice: {@code /v1/kv/_batch} is
     * the batch read's path, not a key's.
     */
    String allow(String path) {
        Set<String> methods = new TreeSet<>();
        int best = -1;
        for (Route r : routes) {
            if (r.path().matcher(path).matches()) {
                if (r.literal() > best) {
                    best = r.literal();
                    methods.clear();
                }
                if (r.literal() == best) {
                    methods.add(r.method());
                }
            }
        }
        if (methods.isEmpty()) {
            return "";
        }
        if (methods.contains(HttpMethod.GET)) {
            methods.add(HttpMethod.HEAD); // answered for every GET route
        }
        methods.add(HttpMethod.OPTIONS); // answered for every route
        return String.join(", ", methods);
    }

    private static String httpMethod(Method m) {
        for (var a : m.getAnnotations()) {
            HttpMethod h = a.annotationType().getAnnotation(HttpMethod.class);
            if (h != null) {
                return h.value();
            }
        }
        return null;
    }

    /** A JAX-RS path template as a pattern: {@code {name}} one segment, {@code {name: regex}} the regex. */
    private static Pattern template(String t) {
        StringBuilder out = new StringBuilder();
        Matcher m = PARAM.matcher(t);
        int last = 0;
        while (m.find()) {
            out.append(Pattern.quote(t.substring(last, m.start())));
            out.append('(').append(m.group(1) == null ? "[^/]+" : m.group(1).trim()).append(')');
            last = m.end();
        }
        out.append(Pattern.quote(t.substring(last)));
        return Pattern.compile(out + "/?");
    }
}
