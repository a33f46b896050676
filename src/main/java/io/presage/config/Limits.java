package io.presage.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import io.presage.log.BatchCodec;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;

/** Input limits ({@code presage.limits.*}); over them a request gets 400 INVALID_KEY or 413 TOO_LARGE. */
@ConfigMapping(prefix = "presage.limits")
public interface Limits {
    /** Largest key, in UTF-8 bytes. */
    @WithDefault("512")
    @Min(1)
    int keyBytes();

    /** Largest value, in bytes of its JSON text. */
    @WithDefault("1048576")
    @Min(1)
    int valueBytes();

    /**
     * Most keys one transaction may read plus write. At most {@link BatchCodec#MAX_TXN_KEYS}, so that
     * every transaction fits one log message, which carries at most {@link BatchCodec#MAX_ELEMENTS}.
     */
    @WithDefault("1000")
    @Min(1)
    @Max(BatchCodec.MAX_TXN_KEYS)
    int txnKeys();

    /** Largest request body (a transaction's JSON), in bytes. */
    @WithDefault("8388608")
    @Min(1)
    int txnBytes();

    /** Most keys in one batch read or reconcile. */
    @WithDefault("1000")
    @Min(1)
    int batchKeys();

    /**
     * Most bytes of values one batch read or reconciliation answers with. Without it, 1,000 keys of
     * 1 MB would be a 1 GB answer, held in memory whole on its way out.
     */
    @WithDefault("33554432")
    @Min(1)
    long batchBytes();
}
