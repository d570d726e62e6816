"""The async retry policy, with literal snapshots (AWS: 2 retries ~1 then ~2 minutes apart
for function errors; back-off from 1 s to 5 min for throttles/system errors; max age)."""

from __future__ import annotations

import pytest

from nimbus.events import policy
from nimbus.events.policy import Attempt, Deliver, Discard, RetryAt, RetrySettings

AWS = RetrySettings()  # (60, 120) s; back-off 1 s .. 300 s
T0 = 1_700_000_000.0


def attempt(**kw: object) -> Attempt:
    values: dict[str, object] = {
        "outcome": "function_error",
        "now": T0,
        "enqueued_at": T0,
        "function_errors": 0,
        "backoffs": 0,
        "max_retry_attempts": 2,
        "max_event_age_s": 21_600,
        "zero_reserved": False,
    }
    values.update(kw)
    return Attempt(**values)  # type: ignore[arg-type]


def test_success_is_delivered() -> None:
    assert policy.decide(attempt(outcome="success"), AWS) == Deliver(condition="Success")


def test_function_errors_retry_after_one_then_two_minutes_then_give_up() -> None:
    first = policy.decide(attempt(), AWS)
    assert first == RetryAt(at=T0 + 60, function_error=True)
    second = policy.decide(attempt(now=T0 + 60, function_errors=1), AWS)
    assert second == RetryAt(at=T0 + 180, function_error=True)
    third = policy.decide(attempt(now=T0 + 180, function_errors=2), AWS)
    assert third == Discard(condition="RetriesExhausted")


@pytest.mark.parametrize("retries", [0, 1, 2])
def test_attempts_are_one_plus_maximum_retry_attempts(retries: int) -> None:
    errors = 0
    now = T0
    while True:
        decision = policy.decide(
            attempt(now=now, function_errors=errors, max_retry_attempts=retries), AWS
        )
        if not isinstance(decision, RetryAt):
            break
        errors += 1
        now = decision.at
    assert errors + 1 == retries + 1
    assert decision == Discard(condition="RetriesExhausted")


@pytest.mark.parametrize("outcome", ["throttle", "system_error"])
def test_throttles_back_off_exponentially_without_spending_attempts(outcome: str) -> None:
    waits = [policy.decide(attempt(outcome=outcome, backoffs=n), AWS) for n in (0, 1, 2, 8, 9, 50)]
    assert all(isinstance(w, RetryAt) and not w.function_error for w in waits)
    assert [w.at - T0 for w in waits if isinstance(w, RetryAt)] == [1, 2, 4, 256, 300, 300]


def test_throttled_event_is_retried_until_its_maximum_age_then_discarded() -> None:
    young = attempt(outcome="throttle", now=T0 + 3_000, backoffs=12, max_event_age_s=3_600)
    assert policy.decide(young, AWS) == RetryAt(at=T0 + 3_300, function_error=False)
    old = attempt(outcome="throttle", now=T0 + 3_400, backoffs=13, max_event_age_s=3_600)
    assert policy.decide(old, AWS) == Discard(condition="EventAgeExceeded")


def test_function_error_retry_past_the_maximum_age_is_not_scheduled() -> None:
    decision = policy.decide(attempt(max_event_age_s=60), AWS)  # next try at +60 s: not > 60
    assert decision == RetryAt(at=T0 + 60, function_error=True)
    later = policy.decide(attempt(now=T0 + 1, max_event_age_s=60), AWS)
    assert later == Discard(condition="EventAgeExceeded")


def test_too_old_is_checked_before_an_attempt() -> None:
    assert not policy.too_old(now=T0 + 21_600, enqueued_at=T0, max_event_age_s=21_600)
    assert policy.too_old(now=T0 + 21_600.5, enqueued_at=T0, max_event_age_s=21_600)


def test_server_setting_shortens_the_delays() -> None:
    fast = RetrySettings(function_error_delays_s=(0.2, 0.4))
    assert policy.decide(attempt(), fast) == RetryAt(at=T0 + 0.2, function_error=True)
    assert policy.decide(attempt(function_errors=1), fast) == RetryAt(
        at=T0 + 0.4, function_error=True
    )
    # More retries than delays listed: the last delay repeats.
    assert policy.function_error_delay_s(5, fast) == 0.4


@pytest.mark.parametrize("outcome", ["throttle", "system_error", "function_error"])
def test_reserved_concurrency_zero_is_discarded_at_once_not_retried_for_six_hours(
    outcome: str,
) -> None:
    # Without the reservation the same throttle waits one second and tries again.
    assert policy.decide(attempt(outcome="throttle"), AWS) == RetryAt(
        at=T0 + 1, function_error=False
    )
    zero = attempt(outcome=outcome, zero_reserved=True)
    assert policy.decide(zero, AWS) == Discard(condition="ZeroReservedConcurrency")
    # It wins over attempts left and over the event's age.
    assert policy.decide(
        attempt(outcome=outcome, zero_reserved=True, function_errors=2, now=T0 + 21_000), AWS
    ) == Discard(condition="ZeroReservedConcurrency")


def test_reserved_concurrency_zero_does_not_undo_a_success() -> None:
    # Set to 0 while the event ran: the attempt still succeeded.
    assert policy.decide(attempt(outcome="success", zero_reserved=True), AWS) == Deliver()
