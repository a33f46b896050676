package io.presage.api;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An error the API answers with a status and {@code {"error": CODE, "message": text, …}}. Thrown
 * anywhere below a resource; {@link ErrorMappers} turns it into the response. No stack trace.
 */
public class ApiException extends RuntimeException {
    private final int status;
    private final String code;
    private final Map<String, Object> extra;

    public ApiException(int status, String code, String message) {
        this(status, code, message, Map.of());
    }

    public ApiException(int status, String code, String message, Map<String, Object> extra) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.extra = extra;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, "BAD_REQUEST", message);
    }

    public static ApiException invalidKey(String message) {
        return new ApiException(400, "INVALID_KEY", message);
    }

    public static ApiException tooLarge(String message) {
        return new ApiException(413, "TOO_LARGE", message);
    }

    public static ApiException notFound(String message) {
        return new ApiException(404, "NOT_FOUND", message);
    }

    public static ApiException unavailable(String message) {
        return new ApiException(503, "UNAVAILABLE", message);
    }

    public static ApiException timeout(String message) {
        return new ApiException(504, "TIMEOUT", message);
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public Map<String, Object> body() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("error", code);
        m.put("message", getMessage());
        m.putAll(extra);
        return m;
    }
}
