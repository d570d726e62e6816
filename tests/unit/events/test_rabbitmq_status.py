"""The RabbitMQ consumer's lifecycle as pure transitions: what GetEventSourceMapping reports
while a broker fails and after it recovers, and the bounded back-off between attempts."""

from __future__ import annotations

from nimbus.events import rabbitmq_status as status
from nimbus.events.rabbitmq_status import Failure, Phase, Problem

POLICY = status.RetryPolicy(initial_s=1.0, max_s=30.0)
DOWN = Failure(problem=Problem.CONNECTION, detail="Nimbus could not connect to broker 'b'.")
REFUSED = Failure(problem=Problem.AUTHENTICATION, detail="The broker refused user 'guest'.")


def test_a_new_consumer_reports_no_records_as_user_initiated() -> None:
    state = status.ConsumerState()
    assert (state.phase, state.state_reason, state.last_result) == (
        Phase.CONNECTING,
        "USER_INITIATED",
        "No records processed",
    )


def test_failures_report_awss_codes_and_words() -> None:
    refused = status.failed(status.ConsumerState(), REFUSED, POLICY)
    assert refused.phase is Phase.WAITING
    assert refused.state_reason == "EVENT_SOURCE_AUTHN_ERROR"
    assert refused.last_result.startswith("PROBLEM: ")
    assert refused.last_result.endswith("The broker refused user 'guest'.")
    down = status.failed(refused, DOWN, POLICY)
    assert down.state_reason == "USER_INITIATED"  # no code of its own
    assert down.last_result.startswith(
        "PROBLEM: Connection error. Please check your event source connection configuration."
    )
    for problem, code in [
        (Problem.AUTHORIZATION, "EVENT_SOURCE_AUTHZ_ERROR"),
        (Problem.CONFIGURATION, "ESM_CONFIG_NOT_VALID"),
        (Problem.FUNCTION, "FUNCTION_CONFIG_NOT_VALID"),
    ]:
        failure = Failure(problem=problem, detail="x")
        assert status.failed(status.ConsumerState(), failure, POLICY).state_reason == code


def test_retries_back_off_doubling_up_to_a_bound_for_as_long_as_it_fails() -> None:
    state = status.ConsumerState()
    delays = []
    for _ in range(8):
        state = status.failed(state, DOWN, POLICY)
        delays.append(state.retry_in_s)
        state = status.retrying(state)
        assert state.phase is Phase.CONNECTING
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]


def test_connecting_again_clears_a_source_problem() -> None:
    state = status.failed(status.failed(status.ConsumerState(), REFUSED, POLICY), REFUSED, POLICY)
    recovered = status.connected(status.retrying(state))
    assert recovered.phase is Phase.CONSUMING
    assert (recovered.state_reason, recovered.last_result) == (
        "USER_INITIATED",
        "No records processed",
    )
    assert recovered.failures == 0
    # The next failure starts the back-off over.
    assert status.failed(recovered, DOWN, POLICY).retry_in_s == 1.0


def test_batches_report_ok_or_the_functions_failure() -> None:
    consuming = status.connected(status.ConsumerState())
    ok = status.processed(consuming, "ok", POLICY)
    assert (ok.last_result, ok.retry_in_s) == ("OK", 0.0)
    failed = status.processed(ok, "function_error", POLICY)
    assert failed.last_result == "PROBLEM: Function call failed"
    assert failed.retry_in_s == 1.0
    assert status.processed(failed, "throttled", POLICY).retry_in_s == 2.0
    assert status.processed(failed, "ok", POLICY).failures == 0


def test_a_missing_function_is_a_function_config_error_that_a_success_clears() -> None:
    consuming = status.connected(status.ConsumerState())
    missing = status.processed(
        consuming, "function_missing", POLICY, detail="Function not found: fn"
    )
    assert missing.state_reason == "FUNCTION_CONFIG_NOT_VALID"
    assert missing.last_result.endswith("Function not found: fn")
    # A reconnection does not hide it (it is not the broker's problem)...
    assert status.connected(missing).state_reason == "FUNCTION_CONFIG_NOT_VALID"
    # ...a batch that goes through does.
    assert status.processed(missing, "ok", POLICY).state_reason == "USER_INITIATED"


def test_a_resumed_consumer_connects_at_once_and_keeps_its_report_until_it_knows_more() -> None:
    failing = status.failed(status.failed(status.ConsumerState(), REFUSED, POLICY), REFUSED, POLICY)
    resumed = status.resumed(status.stopped(failing))
    assert (resumed.phase, resumed.failures, resumed.retry_in_s) == (Phase.CONNECTING, 0, 0.0)
    assert resumed.state_reason == "EVENT_SOURCE_AUTHN_ERROR"
