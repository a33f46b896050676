package io.presage.apply;

import java.util.concurrent.TimeUnit;

import jakarta.inject.Singleton;

import io.presage.config.PresageConfig;
import io.quarkus.reactive.pg.client.PgPoolCreator;
import io.vertx.pgclient.PgPool;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;

/**
 * Makes the reactive PostgreSQL pool (the one Hibernate Reactive and the store use) as Quarkus would, from
 * the {@code quarkus.datasource.*} keys, adding the one setting Quarkus has no key for: how long a
 * statement waits for a connection ({@code presage.apply.connection-wait}). The wait also decides when the
 * pool's leftover timers fire after PostgreSQL refused connections ({@link PoolTimeoutEchoes}).
 */
@Singleton
public class StorePool implements PgPoolCreator {
    private final long waitMillis;

    StorePool(PresageConfig config) {
        this.waitMillis = Math.max(1, config.apply().connectionWait().toMillis());
    }

    @Override
    public Pool create(Input input) {
        PoolOptions options = new PoolOptions(input.poolOptions())
                .setConnectionTimeout((int) Math.min(Integer.MAX_VALUE, waitMillis))
                .setConnectionTimeoutUnit(TimeUnit.MILLISECONDS);
        return PgPool.pool(input.vertx(), input.pgConnectOptionsList(), options);
    }
}
