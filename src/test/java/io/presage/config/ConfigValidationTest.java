package io.presage.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;

import jakarta.validation.Validation;
import jakarta.validation.Validator;

import org.hibernate.validator.messageinterpolation.ParameterMessageInterpolator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

import io.quarkus.runtime.configuration.DurationConverter;
import io.quarkus.runtime.configuration.MemorySize;
import io.quarkus.runtime.configuration.MemorySizeConverter;
import io.smallrye.config.ConfigValidationException;
import io.smallrye.config.PropertiesConfigSource;
import io.smallrye.config.SmallRyeConfig;
import io.smallrye.config.SmallRyeConfigBuilder;
import io.smallrye.config.validator.BeanValidationConfigValidator;

/**
 * The {@code presage.*} mappings with the constraints Quarkus checks at start-up (Hibernate Validator):
 * the defaults pass, and a value the node cannot run with stops it with every offending key named,
 * instead of starting and failing later (a max-inflight of 0 would leave every commit waiting).
 */
class ConfigValidationTest {

    private static final jakarta.validation.ValidatorFactory FACTORY = Validation.byDefaultProvider().configure()
            .messageInterpolator(new ParameterMessageInterpolator()).buildValidatorFactory();

    @AfterAll
    static void close() {
        FACTORY.close();
    }

    private static SmallRyeConfig config(Map<String, String> values) {
        Validator validator = FACTORY.getValidator();
        return new SmallRyeConfigBuilder()
                .withConverter(Duration.class, 200, new DurationConverter())
                .withConverter(MemorySize.class, 200, new MemorySizeConverter())
                .withMapping(PresageConfig.class)
                .withMapping(Limits.class)
                .withSources(new PropertiesConfigSource(values, "test", 500))
                .withValidator((BeanValidationConfigValidator) () -> validator)
                .build();
    }

    @Test
    void aDuplicateWindowShorterThanTheResendsIsRefused() {
        // 2 s × 4 attempts: the window must be at least 16 s.
        ConfigValidationException e = assertThrows(ConfigValidationException.class, () -> config(Map.of(
                "presage.nats.duplicate-window", "10s")).getConfigMapping(PresageConfig.class));
        assertTrue(e.getMessage().contains("presage.nats.duplicate-window must be at least"), e.getMessage());
        config(Map.of("presage.nats.duplicate-window", "16s")).getConfigMapping(PresageConfig.class);
        assertThrows(ConfigValidationException.class, () -> config(Map.of("presage.nats.duplicate-window", "16s",
                "presage.group-commit.retries", "4")).getConfigMapping(PresageConfig.class));
    }

    @Test
    void theDefaultsAreValid() {
        PresageConfig config = config(Map.of()).getConfigMapping(PresageConfig.class);
        assertEquals(4, config.groupCommit().maxInflight());
        assertEquals(Duration.ofMillis(500), config.certification().coldLookupTimeout());
        assertEquals(100_000, config.groupCommit().rememberedIds());
        assertEquals(Duration.ofDays(7), config.apply().idRetention());
    }

    @Test
    void everyValueTheNodeCannotRunWithIsNamedAtOnce() {
        ConfigValidationException e = assertThrows(ConfigValidationException.class, () -> config(Map.of(
                "presage.group-commit.max-inflight", "0",
                "presage.certification.floor-buckets", "3",
                "presage.mirror.calibration-sample-rate", "1.5",
                "presage.nats.storage", "disk",
                "presage.group-commit.timeout", "0s",
                "presage.limits.value-bytes", "-1",
                "presage.group-commit.remembered-ids", "0",
                "presage.apply.id-retention", "-1s",
                "presage.role", "primary")));
        String message = e.getMessage();
        for (String key : new String[] { "presage.group-commit.max-inflight", "presage.certification.floor-buckets",
                "presage.mirror.calibration-sample-rate", "presage.nats.storage", "presage.group-commit.timeout",
                "presage.limits.value-bytes", "presage.group-commit.remembered-ids", "presage.apply.id-retention",
                "presage.role" }) {
            assertTrue(message.contains(key), key + " not named in: " + message);
        }
        assertEquals(9, e.getProblemCount(), message);
        assertTrue(message.contains("must be a power of two"), message);
        assertTrue(message.contains("must be file or memory"), message);
    }

    @Test
    void boundaryValuesThatWorkAreAccepted() {
        PresageConfig config = config(Map.of(
                "presage.group-commit.min-interval", "0ms",
                "presage.group-commit.retries", "0",
                "presage.certification.floor-buckets", "1",
                "presage.mirror.calibration-sample-rate", "1",
                "presage.nats.storage", "MEMORY",
                "presage.apply.gather", "0s",
                "presage.apply.id-retention", "0")).getConfigMapping(PresageConfig.class);
        assertEquals(0, config.groupCommit().retries());
        assertEquals(Duration.ZERO, config.apply().idRetention(), "0: kept for ever");
        assertEquals("MEMORY", config.nats().storage());
    }

    @Test
    void moreKeysPerTransactionThanOneLogMessageCarriesIsRefused() {
        int most = io.presage.log.BatchCodec.MAX_TXN_KEYS;
        assertEquals(most, config(Map.of("presage.limits.txn-keys", Integer.toString(most)))
                .getConfigMapping(Limits.class).txnKeys());
        ConfigValidationException e = assertThrows(ConfigValidationException.class, () -> config(Map.of(
                "presage.limits.txn-keys", Integer.toString(most + 1))).getConfigMapping(Limits.class));
        assertTrue(e.getMessage().contains("presage.limits.txn-keys"), e.getMessage());
    }

    @Test
    void aMirrorWithoutItsOwnNodeIdIsRefused() {
        ConfigValidationException e = assertThrows(ConfigValidationException.class, () -> config(Map.of(
                "presage.role", "mirror")).getConfigMapping(PresageConfig.class));
        assertTrue(e.getMessage().contains("a mirror needs its own presage.node-id"), e.getMessage());
        assertEquals("mirror1", config(Map.of("presage.role", "mirror", "presage.node-id", "mirror1"))
                .getConfigMapping(PresageConfig.class).nodeId());
        assertEquals("coordinator", config(Map.of()).getConfigMapping(PresageConfig.class).nodeId(), "a coordinator may keep it");
    }

    @Test
    void aNodeIdThatCannotNameAConsumerIsRefused() {
        for (String bad : new String[] { "mirror.1", "mirror 1", "m>", "m*", "", "x".repeat(51) }) {
            ConfigValidationException e = assertThrows(ConfigValidationException.class, () -> config(Map.of(
                    "presage.node-id", bad)).getConfigMapping(PresageConfig.class), bad);
            assertTrue(e.getMessage().contains("presage.node-id"), e.getMessage());
        }
        config(Map.of("presage.node-id", "dc-east_2")).getConfigMapping(PresageConfig.class);
    }

    @Test
    void aDeadLetterSubjectUnderTheLogsSubjectsIsRefused() {
        for (String bad : new String[] { "mirror.log.dead", "mirror.log.0", "dead.*", "dead.>", "dead letters" }) {
            ConfigValidationException e = assertThrows(ConfigValidationException.class, () -> config(Map.of(
                    "presage.apply.dead-letter-subject", bad)).getConfigMapping(PresageConfig.class), bad);
            assertTrue(e.getMessage().contains("presage.apply.dead-letter-subject"), e.getMessage());
        }
        for (String good : new String[] { "mirror.deadletter", "mirror.logs.dead", "ops.presage.parked" }) {
            assertEquals(good, config(Map.of("presage.apply.dead-letter-subject", good)).getConfigMapping(PresageConfig.class)
                    .apply().deadLetterSubject());
        }
    }
}
