"""Create/UpdateSchedule's JSON → ScheduleSettings, and every malformed member refused with
AWS's ValidationException wording, naming the member and the constraint."""

from __future__ import annotations

from typing import Any

import pytest

from nimbus.errors import ValidationError
from nimbus.frontend import scheduler_wire as wire
from nimbus.model.schedule import RetryPolicy, ScheduleConfig

ROLE = "arn:aws:iam::000000000000:role/scheduler"
FN = "arn:aws:lambda:us-east-1:000000000000:function:fn"


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ScheduleExpression": "rate(5 minutes)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": FN, "RoleArn": ROLE},
    }
    body.update(overrides)
    return body


def test_defaults_and_a_full_round_trip() -> None:
    settings = wire.settings(_body())
    assert settings.state == "ENABLED"
    assert settings.after_completion == "NONE"
    assert settings.window_minutes is None
    assert settings.target.retry == RetryPolicy(
        maximum_event_age_s=86400, maximum_retry_attempts=185
    )
    full = wire.settings(
        _body(
            ScheduleExpressionTimezone="Europe/Berlin",
            StartDate=1_800_000_000,
            EndDate="2030-01-01T00:00:00Z",
            Description="nightly",
            State="DISABLED",
            FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15},
            ActionAfterCompletion="DELETE",
            Target={
                "Arn": FN,
                "RoleArn": ROLE,
                "Input": '{"a": 1}',
                "RetryPolicy": {"MaximumRetryAttempts": 3},
                "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:000000000000:dlq"},
            },
        )
    )
    assert (full.window_minutes, full.end_date, full.target.retry.maximum_retry_attempts) == (
        15,
        1_893_456_000.0,
        3,
    )
    shape = wire.schedule_shape(
        ScheduleConfig(group="g", name="n", settings=full, created=1.0, modified=2.0), "arn"
    )
    assert shape["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 15}
    assert shape["Target"]["DeadLetterConfig"] == {"Arn": "arn:aws:sqs:us-east-1:000000000000:dlq"}
    assert shape["Target"]["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": 86400,
        "MaximumRetryAttempts": 3,
    }
    assert shape["ScheduleExpressionTimezone"] == "Europe/Berlin"


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"ScheduleExpression": None},
     "at 'scheduleExpression' failed to satisfy constraint: Member must not be null"),
    ({"FlexibleTimeWindow": None}, "at 'flexibleTimeWindow'"),
    ({"Target": None}, "at 'target'"),
    ({"ScheduleExpression": 5}, "Member must be a string"),
    ({"ScheduleExpression": "x" * 257}, "Member must have length between 1 and 256"),
    ({"FlexibleTimeWindow": {"Mode": "SOMETIMES"}}, "enum value set: [OFF, FLEXIBLE]"),
    ({"FlexibleTimeWindow": {"Mode": "FLEXIBLE"}}, "needs MaximumWindowInMinutes"),
    ({"FlexibleTimeWindow": {"Mode": "OFF", "MaximumWindowInMinutes": 5}}, "only valid with"),
    ({"FlexibleTimeWindow": {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 1441}},
     "Member must have value between 1 and 1440"),
    ({"State": "PAUSED"}, "[ENABLED, DISABLED]"),
    ({"ActionAfterCompletion": "ARCHIVE"}, "[NONE, DELETE]"),
    ({"StartDate": "tomorrow"}, "Member must be a timestamp"),
    ({"StartDate": True}, "Member must be a timestamp"),
    ({"Description": "d" * 513}, "between 0 and 512"),
    ({"KmsKeyArn": "key"}, "regular expression pattern"),
    ({"Target": {"Arn": FN}}, "at 'target.roleArn'"),
    ({"Target": {"Arn": FN, "RoleArn": "role"}}, "at 'target.roleArn'"),
    ({"Target": {"Arn": FN, "RoleArn": ROLE, "Input": ""}}, "at 'target.input'"),
    ({"Target": {"Arn": FN, "RoleArn": ROLE, "RetryPolicy": {"MaximumRetryAttempts": 186}}},
     "between 0 and 185"),
    ({"Target": {"Arn": FN, "RoleArn": ROLE, "RetryPolicy": {"MaximumEventAgeInSeconds": 59}}},
     "between 60 and 86400"),
    ({"Target": {"Arn": FN, "RoleArn": ROLE, "DeadLetterConfig": {"Arn": FN}}},
     "at 'target.deadLetterConfig.arn'"),
    ({"Target": {"Arn": FN, "RoleArn": ROLE, "EcsParameters": {"TaskDefinitionArn": "t"}}},
     "Target.EcsParameters is for a target Nimbus does not have"),
    ({"Target": "fn"}, "Member must be a structure"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "says"), INVALID)
def test_malformed_members_are_refused(overrides: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        wire.settings(_body(**overrides))
    assert says in caught.value.message


@pytest.mark.parametrize("name", ["", "a" * 65, "has space", "sl/ash", "ü"])
def test_names_follow_the_models_pattern(name: str) -> None:
    with pytest.raises(ValidationError, match="at 'name'"):
        wire.name(name)
