"""What follows a failed schedule delivery (pure): retry with back-off while attempts and
age allow, else the dead-letter queue, at once for an error no retry would cure."""

from __future__ import annotations

import pytest

from nimbus.errors import (
    NimbusError,
    RequestTooLargeError,
    ResourceNotFoundError,
    ServiceError,
    TooManyRequestsError,
)
from nimbus.events.schedule_delivery import GiveUp, Retry, after_failure, retryable
from nimbus.model.schedule import RetryPolicy

T = 1_000_000.0


@pytest.mark.parametrize(
    ("retries", "now", "policy", "expected"),
    [
        (0, T, RetryPolicy(), Retry(at=T + 1)),
        (3, T + 100, RetryPolicy(), Retry(at=T + 108)),
        (20, T + 100, RetryPolicy(), Retry(at=T + 400)),  # capped at five minutes
        (2, T, RetryPolicy(maximum_retry_attempts=2), GiveUp(condition="MaximumRetryAttempts")),
        (0, T, RetryPolicy(maximum_retry_attempts=0), GiveUp(condition="MaximumRetryAttempts")),
        # the next retry would start after the tick's maximum age
        (5, T + 59, RetryPolicy(maximum_event_age_s=60),
         GiveUp(condition="MaximumEventAgeInSeconds")),
    ],
)  # fmt: skip
def test_after_a_retryable_failure(
    retries: int, now: float, policy: RetryPolicy, expected: Retry | GiveUp
) -> None:
    assert (
        after_failure(retryable=True, retries=retries, tick=T, now=now, policy=policy) == expected
    )


def test_an_error_no_retry_cures_goes_straight_to_the_dead_letter_queue() -> None:
    step = after_failure(retryable=False, retries=0, tick=T, now=T, policy=RetryPolicy())
    assert step == GiveUp(condition=None)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TooManyRequestsError("Rate Exceeded."), True),
        (ServiceError("boom"), True),
        (ResourceNotFoundError("Function not found"), False),
        (RequestTooLargeError("too large"), False),
    ],
)
def test_which_errors_are_retried(error: NimbusError, expected: bool) -> None:
    assert retryable(error) is expected
