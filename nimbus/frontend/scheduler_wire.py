"""EventBridge Scheduler's JSON wire shapes <-> ``model.schedule`` values (botocore's
``scheduler`` 2021-06-30 model: restJson, members in PascalCase, timestamps as epoch
seconds).

Every member is checked against the model's constraints (type, length, pattern, range) and
refused with AWS's ValidationException wording ("1 validation error detected: Value ... at
'...' failed to satisfy constraint: ..."). Target parameters for targets Nimbus does not
have (ECS, EventBridge, Kinesis, SageMaker) are refused by name, never accepted and ignored.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from nimbus.errors import ValidationError
from nimbus.model.schedule import (
    DEFAULT_MAX_EVENT_AGE_S,
    DEFAULT_MAX_RETRY_ATTEMPTS,
    RetryPolicy,
    ScheduleConfig,
    ScheduleGroup,
    ScheduleSettings,
    ScheduleTarget,
)

NAME = re.compile(r"[0-9a-zA-Z\-_.]+")
ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+")
SQS_ARN = re.compile(r"arn:aws[a-z-]*:sqs:[a-z0-9\-]+:\d{12}:[a-zA-Z0-9\-_]+")
KMS_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9\-]+:\d{12}:(key|alias)/[0-9a-zA-Z-_]*")
UNSUPPORTED_TARGET_PARAMETERS = (
    "EcsParameters",
    "EventBridgeParameters",
    "EventBridgePutEventsV2Parameters",
    "EventBridgePutRawEventsParameters",
    "KinesisParameters",
    "SageMakerPipelineParameters",
)


def _invalid(value: object, where: str, constraint: str) -> ValidationError:
    return ValidationError(
        f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy "
        f"constraint: {constraint}"
    )


def string(
    value: object,
    where: str,
    *,
    low: int = 1,
    high: int | None = None,
    pattern: re.Pattern[str] | None = None,
) -> str:
    if not isinstance(value, str):
        raise _invalid(value, where, "Member must be a string")
    if len(value) < low or (high is not None and len(value) > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _invalid(value, where, f"Member must have length {bound}")
    if pattern is not None and not pattern.fullmatch(value):
        raise _invalid(
            value, where, f"Member must satisfy regular expression pattern: {pattern.pattern}"
        )
    return value


def name(value: object, where: str = "name") -> str:
    return string(value, where, high=64, pattern=NAME)


def integer(value: object, where: str, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(value, where, "Member must be an integer")
    if not low <= value <= high:
        raise _invalid(value, where, f"Member must have value between {low} and {high}, inclusive")
    return value


def one_of(value: object, where: str, *allowed: str) -> str:
    if value not in allowed:
        raise _invalid(value, where, f"Member must satisfy enum value set: [{', '.join(allowed)}]")
    return str(value)


def timestamp(value: object, where: str) -> float:
    """Epoch seconds (what botocore sends) or ISO 8601 text."""
    if isinstance(value, bool):
        raise _invalid(value, where, "Member must be a timestamp")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise _invalid(value, where, "Member must be a timestamp (epoch seconds or ISO 8601)")


def window(mode: str, maximum_minutes: int | None) -> int | None:
    """FlexibleTimeWindow as the settings keep it: None for OFF, else the minutes."""
    if mode == "OFF":
        if maximum_minutes is not None:
            raise ValidationError(
                "MaximumWindowInMinutes is only valid with FlexibleTimeWindow Mode FLEXIBLE."
            )
        return None
    if maximum_minutes is None:
        raise ValidationError(
            "FlexibleTimeWindow Mode FLEXIBLE needs MaximumWindowInMinutes (1-1440)."
        )
    return maximum_minutes


def _structure(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(value, where, "Member must be a structure")
    return value


def settings(body: dict[str, Any]) -> ScheduleSettings:
    """Create/UpdateSchedule's members (all of them: an update replaces every setting)."""
    for member in ("ScheduleExpression", "Target", "FlexibleTimeWindow"):
        if body.get(member) is None:
            raise _invalid(None, _lower(member), "Member must not be null")
    flexible = _structure(body["FlexibleTimeWindow"], "flexibleTimeWindow")
    mode = one_of(flexible.get("Mode"), "flexibleTimeWindow.mode", "OFF", "FLEXIBLE")
    maximum = flexible.get("MaximumWindowInMinutes")
    if maximum is not None:
        maximum = integer(maximum, "flexibleTimeWindow.maximumWindowInMinutes", low=1, high=1440)
    optional = _optional(body)
    return ScheduleSettings(
        expression=string(body["ScheduleExpression"], "scheduleExpression", high=256),
        timezone=optional("ScheduleExpressionTimezone", lambda v, w: string(v, w, high=50)),
        start_date=optional("StartDate", timestamp),
        end_date=optional("EndDate", timestamp),
        description=optional("Description", lambda v, w: string(v, w, low=0, high=512)),
        state=one_of(body.get("State", "ENABLED"), "state", "ENABLED", "DISABLED"),  # type: ignore[arg-type]
        kms_key_arn=optional("KmsKeyArn", lambda v, w: string(v, w, high=2048, pattern=KMS_ARN)),
        target=target(_structure(body["Target"], "target")),
        window_minutes=window(mode, maximum),
        after_completion=one_of(  # type: ignore[arg-type]
            body.get("ActionAfterCompletion", "NONE"), "actionAfterCompletion", "NONE", "DELETE"
        ),
    )


def _lower(member: str) -> str:
    return member[0].lower() + member[1:]


def _optional(body: dict[str, Any]) -> Any:
    def read(member: str, reader: Any) -> Any:
        value = body.get(member)
        return None if value is None else reader(value, _lower(member))

    return read


def target(body: dict[str, Any]) -> ScheduleTarget:
    for member in UNSUPPORTED_TARGET_PARAMETERS:
        if body.get(member) is not None:
            raise ValidationError(
                f"Target.{member} is for a target Nimbus does not have; Nimbus delivers to "
                f"Lambda functions, SQS queues and SNS topics."
            )
    for member in ("Arn", "RoleArn"):
        if body.get(member) is None:
            raise _invalid(None, f"target.{_lower(member)}", "Member must not be null")
    retry = RetryPolicy()
    if body.get("RetryPolicy") is not None:
        policy = _structure(body["RetryPolicy"], "target.retryPolicy")
        age = policy.get("MaximumEventAgeInSeconds")
        attempts = policy.get("MaximumRetryAttempts")
        retry = RetryPolicy(
            maximum_event_age_s=DEFAULT_MAX_EVENT_AGE_S
            if age is None
            else integer(age, "target.retryPolicy.maximumEventAgeInSeconds", low=60, high=86400),
            maximum_retry_attempts=DEFAULT_MAX_RETRY_ATTEMPTS
            if attempts is None
            else integer(attempts, "target.retryPolicy.maximumRetryAttempts", low=0, high=185),
        )
    dead_letter = None
    if body.get("DeadLetterConfig") is not None:
        config = _structure(body["DeadLetterConfig"], "target.deadLetterConfig")
        if config.get("Arn") is not None:
            dead_letter = string(
                config["Arn"], "target.deadLetterConfig.arn", high=1600, pattern=SQS_ARN
            )
    group_id = None
    if body.get("SqsParameters") is not None:
        sqs = _structure(body["SqsParameters"], "target.sqsParameters")
        if sqs.get("MessageGroupId") is not None:
            group_id = string(
                sqs["MessageGroupId"], "target.sqsParameters.messageGroupId", high=128
            )
    return ScheduleTarget(
        arn=string(body["Arn"], "target.arn", high=1600),
        role_arn=string(body["RoleArn"], "target.roleArn", high=1600, pattern=ROLE_ARN),
        input=None if body.get("Input") is None else string(body["Input"], "target.input"),
        retry=retry,
        dead_letter_arn=dead_letter,
        message_group_id=group_id,
    )


def tags(value: object, where: str = "tags") -> list[tuple[str, str]]:
    if not isinstance(value, list) or len(value) > 200:
        raise _invalid(value, where, "Member must be a list of at most 200 tags")
    out = []
    for tag in value:
        entry = _structure(tag, where)
        out.append(
            (
                string(entry.get("Key"), f"{where}.member.key", high=128),
                string(entry.get("Value"), f"{where}.member.value", high=256),
            )
        )
    return out


# --- Responses ---------------------------------------------------------------------------------


def schedule_shape(schedule: ScheduleConfig, arn: str) -> dict[str, Any]:
    s, t = schedule.settings, schedule.settings.target
    target_shape: dict[str, Any] = {
        "Arn": t.arn,
        "RoleArn": t.role_arn,
        "RetryPolicy": {
            "MaximumEventAgeInSeconds": t.retry.maximum_event_age_s,
            "MaximumRetryAttempts": t.retry.maximum_retry_attempts,
        },
    }
    if t.input is not None:
        target_shape["Input"] = t.input
    if t.dead_letter_arn is not None:
        target_shape["DeadLetterConfig"] = {"Arn": t.dead_letter_arn}
    if t.message_group_id is not None:
        target_shape["SqsParameters"] = {"MessageGroupId": t.message_group_id}
    flexible: dict[str, Any] = {"Mode": "OFF"}
    if s.window_minutes is not None:
        flexible = {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": s.window_minutes}
    body: dict[str, Any] = {
        "Arn": arn,
        "GroupName": schedule.group,
        "Name": schedule.name,
        "ScheduleExpression": s.expression,
        "State": s.state,
        "CreationDate": schedule.created,
        "LastModificationDate": schedule.modified,
        "Target": target_shape,
        "FlexibleTimeWindow": flexible,
        "ActionAfterCompletion": s.after_completion,
    }
    optional = {
        "ScheduleExpressionTimezone": s.timezone,
        "StartDate": s.start_date,
        "EndDate": s.end_date,
        "Description": s.description,
        "KmsKeyArn": s.kms_key_arn,
    }
    body.update({k: v for k, v in optional.items() if v is not None})
    return body


def schedule_summary(schedule: ScheduleConfig, arn: str) -> dict[str, Any]:
    return {
        "Arn": arn,
        "Name": schedule.name,
        "GroupName": schedule.group,
        "State": schedule.settings.state,
        "CreationDate": schedule.created,
        "LastModificationDate": schedule.modified,
        "Target": {"Arn": schedule.settings.target.arn},
    }


def group_shape(group: ScheduleGroup, arn: str) -> dict[str, Any]:
    return {
        "Arn": arn,
        "Name": group.name,
        "State": "ACTIVE",
        "CreationDate": group.created,
        "LastModificationDate": group.modified,
    }
