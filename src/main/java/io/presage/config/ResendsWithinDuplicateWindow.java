package io.presage.config;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.time.Duration;

import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;

/**
 * presage.nats.duplicate-window must outlast an append's resends with room to spare: at least twice
 * presage.nats.publish-timeout × (presage.group-commit.retries + 1). A resend is safe because JetStream
 * answers a message id it still remembers with a duplicate ack; past the window it has forgotten the
 * id, so the resend of an append that landed but lost its ack is refused as fenced, and its clients
 * were told 503 (not committed) about a commit.
 */
@Documented
@Constraint(validatedBy = ResendsWithinDuplicateWindow.Check.class)
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
public @interface ResendsWithinDuplicateWindow {
    String message() default "presage.nats.duplicate-window must be at least 2 × presage.nats.publish-timeout × "
            + "(presage.group-commit.retries + 1), so that JetStream still knows a resent append's message id";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    final class Check implements ConstraintValidator<ResendsWithinDuplicateWindow, PresageConfig> {
        @Override
        public boolean isValid(PresageConfig c, ConstraintValidatorContext context) {
            if (c == null || c.nats() == null || c.groupCommit() == null) {
                return true; // the groups' own constraints speak for them
            }
            Duration window = c.nats().duplicateWindow();
            Duration timeout = c.nats().publishTimeout();
            if (window == null || timeout == null) {
                return true;
            }
            return window.compareTo(timeout.multipliedBy(2L * (Math.max(0, c.groupCommit().retries()) + 1L))) >= 0;
        }
    }
}
