"""EventBridge Scheduler's schedules and schedule groups (botocore ``scheduler`` 2021-06-30).

They live in model/ so that the store persists them and the frontend renders them without
either importing the service that runs them (``events/schedules.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ScheduleState = Literal["ENABLED", "DISABLED"]
AfterCompletion = Literal["NONE", "DELETE"]
DEFAULT_GROUP = "default"
# AWS's RetryPolicy defaults (API reference, RetryPolicy): 24 hours and 185 retries.
DEFAULT_MAX_EVENT_AGE_S = 86_400
DEFAULT_MAX_RETRY_ATTEMPTS = 185


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    maximum_event_age_s: int = DEFAULT_MAX_EVENT_AGE_S
    maximum_retry_attempts: int = DEFAULT_MAX_RETRY_ATTEMPTS


@dataclass(frozen=True, kw_only=True)
class ScheduleTarget:
    arn: str  # a Lambda function (maybe qualified), a built-in queue or topic
    role_arn: str  # accepted and echoed; Nimbus delivers as the node, not as the role
    input: str | None = None  # sent as is: the event, the message body
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    dead_letter_arn: str | None = None  # an SQS queue
    message_group_id: str | None = None  # SqsParameters.MessageGroupId


@dataclass(frozen=True, kw_only=True)
class ScheduleSettings:
    """What CreateSchedule and UpdateSchedule set (an update replaces all of it)."""

    expression: str
    timezone: str | None = None  # ScheduleExpressionTimezone; None evaluates in UTC
    start_date: float | None = None
    end_date: float | None = None
    description: str | None = None
    state: ScheduleState = "ENABLED"
    kms_key_arn: str | None = None
    target: ScheduleTarget
    window_minutes: int | None = None  # FlexibleTimeWindow FLEXIBLE; None is OFF
    after_completion: AfterCompletion = "NONE"

    def to_record(self) -> dict[str, Any]:
        t = self.target
        return {
            "expression": self.expression,
            "timezone": self.timezone,
            "start_date": self.start_date,
            "end_date": self.end_date,
            "description": self.description,
            "state": self.state,
            "kms_key_arn": self.kms_key_arn,
            "window_minutes": self.window_minutes,
            "after_completion": self.after_completion,
            "target": {
                "arn": t.arn,
                "role_arn": t.role_arn,
                "input": t.input,
                "max_event_age_s": t.retry.maximum_event_age_s,
                "max_retry_attempts": t.retry.maximum_retry_attempts,
                "dead_letter_arn": t.dead_letter_arn,
                "message_group_id": t.message_group_id,
            },
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ScheduleSettings:
        t = record["target"]
        return cls(
            expression=record["expression"],
            timezone=record["timezone"],
            start_date=record["start_date"],
            end_date=record["end_date"],
            description=record["description"],
            state=record["state"],
            kms_key_arn=record["kms_key_arn"],
            window_minutes=record["window_minutes"],
            after_completion=record["after_completion"],
            target=ScheduleTarget(
                arn=t["arn"],
                role_arn=t["role_arn"],
                input=t["input"],
                retry=RetryPolicy(
                    maximum_event_age_s=t["max_event_age_s"],
                    maximum_retry_attempts=t["max_retry_attempts"],
                ),
                dead_letter_arn=t["dead_letter_arn"],
                message_group_id=t["message_group_id"],
            ),
        )


@dataclass(frozen=True, kw_only=True)
class ScheduleConfig:
    """One schedule: its identity, its settings and when it was created and last changed."""

    group: str
    name: str
    settings: ScheduleSettings
    created: float
    modified: float

    @property
    def key(self) -> str:
        """The schedule's timer key (``events/timer.py``), unique across rules and schedules."""
        return f"scheduler:{self.group}/{self.name}"


@dataclass(frozen=True, kw_only=True)
class ScheduleGroup:
    name: str
    created: float
    modified: float
    tags: tuple[tuple[str, str], ...] = ()
