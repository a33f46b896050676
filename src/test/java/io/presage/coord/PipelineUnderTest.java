package io.presage.coord;

import java.util.List;

import io.presage.certify.Certifier;
import io.presage.certify.CertifierConfig;
import io.presage.certify.CertifierLoop;
import io.presage.certify.ColdVersions;
import io.presage.certify.Hlc;
import io.presage.log.JetStreamLog;

/**
 * A certifier loop with group commit over a real log, as the coordinator runs it, for the tests of
 * the pipeline: no spacing between messages, up to four in flight, resyncs collected in a list.
 */
final class PipelineUnderTest {
    private PipelineUnderTest() {
    }

    static CertifierLoop start(JetStreamLog log, long lastSequence, int retries, RecentWrites recent, List<String> resyncs) {
        return start(log, lastSequence, retries, recent, resyncs, 1024);
    }

    static CertifierLoop start(JetStreamLog log, long lastSequence, int retries, RecentWrites recent, List<String> resyncs,
            int queueCapacity) {
        Certifier certifier = new Certifier(CertifierConfig.DEFAULT, new Hlc(), ColdVersions.NONE, true);
        GroupCommit gc = new GroupCommit(log, JetStreamLog.subjectFor(0), "coordinator", 1, 900_000, retries, 4, 0, 1,
                lastSequence, recent, new GroupCommit.Events() {
                    @Override
                    public void resyncNeeded(String why) {
                        resyncs.add(why);
                    }

                    @Override
                    public void published(int txns, int bytes, long delayNanos, long publishNanos) {
                    }
                });
        CertifierLoop loop = new CertifierLoop(certifier, queueCapacity, 1024, gc);
        gc.attach(loop);
        return loop;
    }
}
