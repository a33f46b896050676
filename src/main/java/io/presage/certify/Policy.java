package io.presage.certify;

/** How a transaction whose reads are not all current is treated. */
public enum Policy {
    /** Timestamp-history certification: look for a past timestamp at which every read was valid. */
    ADAPTIVE,
    /** Basic timestamp certification: abort as soon as any read is not the current version. */
    BASIC;

    public static Policy parse(String s) {
        return switch (s.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "adaptive" -> ADAPTIVE;
            case "basic" -> BASIC;
            default -> throw new IllegalArgumentException("unknown certification policy '" + s + "' (adaptive|basic)");
        };
    }
}
