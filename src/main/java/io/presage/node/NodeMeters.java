package io.presage.node;

import java.util.List;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;

/**
 * Forgets Presage's meters ({@code presage_*}) when the node stops. The registry injected here is
 * Micrometer's global composite, which outlives the application: a node started again in the same JVM
 * (one test class after another) registering a function counter or gauge under a name already known got
 * the meter bound to the stopped node's objects, and read their frozen values. In production one node
 * is one JVM, and only a scrape during shutdown sees the difference (no {@code presage_*} series).
 */
@ApplicationScoped
public class NodeMeters {
    private static final String PREFIX = "presage";

    @Inject
    MeterRegistry registry;

    void onStop(@Observes ShutdownEvent ev) {
        List<Meter> ours = registry.getMeters().stream().filter(m -> m.getId().getName().startsWith(PREFIX)).toList();
        ours.forEach(registry::remove);
    }
}
