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

/** A setting that must be a power of two (the certifier masks a hash with it). */
@Documented
@Constraint(validatedBy = PowerOfTwo.Check.class)
@Target({ ElementType.METHOD, ElementType.FIELD, ElementType.PARAMETER, ElementType.TYPE_USE })
@Retention(RetentionPolicy.RUNTIME)
public @interface PowerOfTwo {
    String message() default "must be a power of two";

    Class<?>[] groups() default {};

    Class<? extends Payload>[] payload() default {};

    /** Accepts 1, 2, 4, …; nothing else. */
    final class Check implements ConstraintValidator<PowerOfTwo, Integer> {
        @Override
        public boolean isValid(Integer value, ConstraintValidatorContext context) {
            return value == null || (value > 0 && Integer.bitCount(value) == 1);
        }
    }
}
