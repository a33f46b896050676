package io.presage.mirror;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.ObjectMapper;

import io.presage.speculate.CoordinatorAnswer;

/** How the coordinator's answer to a speculation's attempt is read. */
class SpeculationCommitsTest {
    private final SpeculationCommits commits = new SpeculationCommits(null, null, new ObjectMapper());

    private CoordinatorAnswer answer(int status, String body) {
        return commits.answer(new CoordinatorClient.Answer(status, body.getBytes(StandardCharsets.UTF_8)));
    }

    /**
     * A 200 whose body cannot be read says the attempt went through, not what became of it: taken for a
     * refusal, the speculation was rolled back ("nothing committed") while it had committed. It is asked
     * again under its id, which the coordinator answers with the first outcome.
     */
    @Test
    void aSuccessWhoseBodyCannotBeReadIsAskedAgainNotTakenForARefusal() {
        assertInstanceOf(CoordinatorAnswer.Unavailable.class, answer(200, "<html>ok</html>"));
        assertInstanceOf(CoordinatorAnswer.Unavailable.class, answer(200, ""));
    }

    @Test
    void aRateLimitOrRequestTimeoutIsAskedAgainNotTakenForARefusal() {
        assertInstanceOf(CoordinatorAnswer.Unavailable.class, answer(429, "Too Many Requests"));
        assertInstanceOf(CoordinatorAnswer.Unavailable.class, answer(408, "<html>Request Timeout</html>"));
        assertInstanceOf(CoordinatorAnswer.Unavailable.class,
                answer(429, "{\"error\":\"RATE_LIMITED\",\"message\":\"slow down\"}"));
        assertInstanceOf(CoordinatorAnswer.Unavailable.class, answer(425, ""));
    }

    @Test
    void aClientErrorThatIsNotTheCoordinatorsJsonIsStillAFinalRefusal() {
        assertInstanceOf(CoordinatorAnswer.Refused.class, answer(413, "Request Entity Too Large"));
        assertInstanceOf(CoordinatorAnswer.Unavailable.class, answer(502, "<html>Bad Gateway</html>"));
    }
}
