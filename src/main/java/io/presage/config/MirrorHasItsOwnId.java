package io.presage.config;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import jakarta.validation.Constraint;
import jakarta.validation.ConstraintValidator;
import jakarta.validation.ConstraintValidatorContext;
import jakarta.validation.Payload;

/**
 * A mirror's presage.node-id is not the default, {@code coordinator}: the id names the node's durable
 * consumer ({@code apply-<id>}) and its entry in vector clocks. A mirror started with only the mirror
 * profile shared the coordinator's consumer (the two appliers took each other's messages and kept
 * recreating it), and stamped its speculative writes with the coordinator's clock entry, so that a
 * conflicting commit of the coordinator's read as later instead of concurrent.
 */
@Documented
@Constraint(validatedBy = MirrorHasItsOwnId.Check.class)
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
public @interface MirrorHasItsOwnId {
    String message() default "a mirror needs its own presage.node-id (PRESAGE_NODE_ID), not \"coordinator\": the id "
            + "names its durable consumer on the log and its entry in vector clocks";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    final class Check implements ConstraintValidator<MirrorHasItsOwnId, PresageConfig> {
        @Override
        public boolean isValid(PresageConfig c, ConstraintValidatorContext context) {
            return c == null || !"mirror".equals(c.role()) || !"coordinator".equals(c.nodeId());
        }
    }
}
