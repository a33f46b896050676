package io.presage.node;

import jakarta.enterprise.inject.Produces;
import jakarta.inject.Singleton;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.config.MeterFilterReply;

/**
 * Leaves out the PostgreSQL client's two gauges, {@code postgresql_queue_size} and {@code postgresql_current}.
 * The reactive client makes its metrics per connection, not per pool (Vert.x's {@code PgConnectionFactory}
 * asks Quarkus' binder for them as each socket connects), and every connection registers the same two
 * gauges under the same name and tags. Micrometer keeps the first and ignores the rest with a WARN at every
 * start ("This Gauge has been already registered"), so the gauges showed one connection of the pool — the
 * first one, held strongly even after it closed. The client's counters and timers ({@code
 * postgresql_completed_total}, {@code postgresql_processing_seconds}, {@code postgresql_queue_delay_seconds},
 * {@code postgresql_reset_total}) are shared by every connection and stay; Presage's own {@code presage_*}
 * meters say how far the store is behind.
 */
@Singleton
public class PerConnectionGauges {

    @Produces
    @Singleton
    MeterFilter withoutPerConnectionGauges() {
        return new MeterFilter() {
            @Override
            public MeterFilterReply accept(Meter.Id id) {
                String name = id.getName();
                return "postgresql.queue.size".equals(name) || "postgresql.current".equals(name)
                        ? MeterFilterReply.DENY : MeterFilterReply.NEUTRAL;
            }
        };
    }
}
