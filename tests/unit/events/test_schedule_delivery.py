"""What a failed schedule delivery is (pure): which target errors are retried, and the
dead-letter message's attributes."""

from __future__ import annotations

import pytest

from nimbus.errors import (
    NimbusError,
    RequestTooLargeError,
    ResourceNotFoundError,
    ServiceError,
    TooManyRequestsError,
)
from nimbus.events.delivery_retry import Failure
from nimbus.events.schedule_delivery import dead_letter_attributes, failure_of
from nimbus.model.schedule import ScheduleTarget

T = 1_767_225_610.0  # 2026-01-01T00:00:10Z


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
    failure = failure_of(error)
    assert failure.retryable is expected
    assert (failure.code, failure.message) == (error.error_type, error.message)


def test_dead_letter_attributes_are_aws_s() -> None:
    target = ScheduleTarget(arn="arn:aws:sqs:us-east-1:000000000000:q", role_arn="r")
    failure = Failure(code="TooManyRequestsException", message="Rate Exceeded.", retryable=True)
    values = dead_letter_attributes(
        target,
        schedule_arn="arn:aws:scheduler:us-east-1:000000000000:schedule/default/s",
        tick=T,
        failure=failure,
        retries=2,
        condition="MaximumRetryAttempts",
        execution_id="x-1",
    )
    assert values == {
        "ERROR_CODE": "TooManyRequestsException",
        "ERROR_MESSAGE": "Rate Exceeded.",
        "EXECUTION_ID": "x-1",
        "IS_PAYLOAD_TRUNCATED": "false",
        "RETRY_ATTEMPTS": "2",
        "SCHEDULED_TIME": "2026-01-01T00:00:10Z",
        "SCHEDULE_ARN": "arn:aws:scheduler:us-east-1:000000000000:schedule/default/s",
        "TARGET_ARN": "arn:aws:sqs:us-east-1:000000000000:q",
        "EXHAUSTED_RETRY_CONDITION": "MaximumRetryAttempts",
    }
