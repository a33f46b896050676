package io.presage.proc;

/** A procedure refusing: {@code badInput} means the arguments are wrong (400), else a business refusal (409). */
public final class ProcedureException extends RuntimeException {
    private static final String INVALID_KEY = "INVALID_KEY";
    private final boolean badInput;
    private final String reason;

    private ProcedureException(boolean badInput, String reason, String message) {
        super(message, null, false, false);
        this.badInput = badInput;
        this.reason = reason;
    }

    public static ProcedureException badInput(String message) {
        return new ProcedureException(true, "BAD_REQUEST", message);
    }

    /** An argument that names a key is not one (empty): 400 {@code INVALID_KEY}, as for any key. */
    public static ProcedureException invalidKey(String message) {
        return new ProcedureException(true, INVALID_KEY, message);
    }

    public static ProcedureException refuse(String reason, String message) {
        return new ProcedureException(false, reason, message);
    }

    public boolean badInput() {
        return badInput;
    }

    /** Bad input naming a key that is not one ({@link #invalidKey}). */
    public boolean isInvalidKey() {
        return badInput && INVALID_KEY.equals(reason);
    }

    public String reason() {
        return reason;
    }
}
