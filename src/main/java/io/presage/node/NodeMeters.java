package io.presage.node;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;

import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;

/**
 * Forgets this node's meters when it stops. The registry injected here is Micrometer's global
 * composite, which outlives the application: a node started again in the same JVM (one test class
 * after another) registering a function counter or gauge under a name already known got the meter
 * bound to the stopped node's objects, and read their frozen values.
 */
@ApplicationScoped
public class NodeMeters {
    @Inject
    MeterRegistry registry;

    void onStop(@Observes ShutdownEvent ev) {
        registry.clear();
    }
}
