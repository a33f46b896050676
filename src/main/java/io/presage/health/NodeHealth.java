package io.presage.health;

import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

import org.eclipse.microprofile.health.HealthCheck;
import org.eclipse.microprofile.health.HealthCheckResponse;
import org.eclipse.microprofile.health.HealthCheckResponseBuilder;
import org.eclipse.microprofile.health.Liveness;
import org.eclipse.microprofile.health.Readiness;
import org.eclipse.microprofile.health.Startup;

import io.presage.apply.Applier;
import io.presage.config.PresageConfig;
import io.presage.coord.CoordinatorEngine;
import io.presage.mirror.MirrorNode;
import io.presage.node.LogAnswers;
import io.presage.node.LogConnection;

/**
 * MicroProfile Health. The database check is Quarkus's own (datasource health); these add the log
 * connection (connected, and answering: {@link LogAnswers}), the applier, dead letters and, at the coordinator, recovery; at a mirror, the
 * replication lag against its bound.
 */
public class NodeHealth {

    @Inject
    PresageConfig config;
    @Inject
    LogConnection logs;
    @Inject
    LogAnswers answers;
    @Inject
    Applier applier;
    @Inject
    CoordinatorEngine coordinator;
    @Inject
    MirrorNode mirror;

    @Readiness
    @ApplicationScoped
    HealthCheck log() {
        return () -> {
            String problem = answers.problem();
            HealthCheckResponseBuilder b = HealthCheckResponse.named("nats-jetstream")
                    .status(logs.connected() && problem == null)
                    .withData("url", config.nats().url()).withData("stream", config.nats().stream());
            if (problem != null) {
                b.withData("problem", problem);
            }
            return b.build();
        };
    }

    @Readiness
    @ApplicationScoped
    HealthCheck apply() {
        return () -> {
            long parked = applier.deadLetters();
            long streamEnd = applier.streamEndBehindStore();
            long missing = applier.missingFromLog();
            HealthCheckResponseBuilder b = HealthCheckResponse.named("applier")
                    .status(applier.started() && parked == 0 && streamEnd < 0 && missing == 0 && !applier.logReplaced())
                    .withData("appliedSequence", applier.appliedSequence())
                    .withData("deadLetters", parked)
                    .withData("lagSeconds", String.format(java.util.Locale.ROOT, "%.3f", applier.lagSeconds()));
            if (streamEnd >= 0) {
                b.withData("logEndsAt", streamEnd)
                        .withData("logProblem", "the log stream ends before what this node applied: re-created or purged");
            }
            if (missing != 0) {
                b.withData("missingSequence", missing).withData("logResumesAt", applier.logResumesAt())
                        .withData("logProblem", "the log stream no longer holds message " + missing + ", which this node has "
                                + "not applied (purged, or aged out by a limit on the stream): it cannot catch up from the log; "
                                + "replace its database with a copy of another node's (README: A mirror after the log was cut), "
                                + "or restore the stream");
            }
            if (applier.logReplaced()) {
                b.withData("logProblem", "the log stream was deleted and made again: this node's data is from the old "
                        + "one, and nothing is applied from the new one; rebuild its database, or restore the stream");
            }
            if (applier.lastError() != null) {
                b.withData("lastError", applier.lastError());
            }
            return b.build();
        };
    }

    @Readiness
    @ApplicationScoped
    HealthCheck recovery() {
        return () -> {
            if (!coordinator.isCoordinator()) {
                return HealthCheckResponse.up("recovery");
            }
            return HealthCheckResponse.named("recovery")
                    .status(coordinator.state() == CoordinatorEngine.State.READY)
                    .withData("state", coordinator.state().name())
                    .withData("detail", coordinator.stateDetail()).build();
        };
    }

    @Readiness
    @ApplicationScoped
    HealthCheck replication() {
        return () -> {
            if (!mirror.active()) {
                return HealthCheckResponse.up("replication-lag");
            }
            double lag = mirror.lagSeconds();
            double max = config.mirror().maxLagSeconds();
            return HealthCheckResponse.named("replication-lag").status(lag <= max)
                    .withData("lagSeconds", String.format(java.util.Locale.ROOT, "%.3f", lag))
                    .withData("lagSequences", mirror.lagSequences())
                    .withData("maxLagSeconds", String.format(java.util.Locale.ROOT, "%.3f", max)).build();
        };
    }

    @Startup
    @ApplicationScoped
    HealthCheck started() {
        return () -> HealthCheckResponse.named("applier-started").status(applier.started()).build();
    }

    @Liveness
    @ApplicationScoped
    HealthCheck alive() {
        return () -> HealthCheckResponse.up("presage");
    }
}
