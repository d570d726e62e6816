"""EventBridge's values (frozen): event buses, rules and their targets, as the API, the store
and the delivery path share them; and the ARNs AWS gives them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

DEFAULT_BUS: Final = "default"
RuleState = Literal["ENABLED", "DISABLED"]
RULE_STATES: Final = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
# AWS's defaults when a target has no RetryPolicy ("Event retry policy and using dead-letter
# queues": 24 hours and up to 185 times).
DEFAULT_RETRY_ATTEMPTS: Final = 185
DEFAULT_EVENT_AGE_S: Final = 86_400


def bus_arn(region: str, account: str, bus: str) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/{bus}"


def rule_arn(region: str, account: str, bus: str, name: str) -> str:
    """A rule's ARN: ``rule/<name>`` on the default bus, ``rule/<bus>/<name>`` on another
    (as AWS spells them)."""
    path = name if bus == DEFAULT_BUS else f"{bus}/{name}"
    return f"arn:aws:events:{region}:{account}:rule/{path}"


def bus_name_of(name_or_arn: str) -> str:
    """The bus an ``EventBusName`` names: a name, or an event-bus ARN's last part."""
    marker = ":event-bus/"
    if name_or_arn.startswith("arn:") and marker in name_or_arn:
        return name_or_arn.split(marker, 1)[1]
    return name_or_arn


@dataclass(frozen=True, kw_only=True)
class EventBus:
    name: str
    description: str | None = None
    created_at: float
    modified_at: float


@dataclass(frozen=True, kw_only=True)
class Rule:
    bus: str
    name: str
    event_pattern: str | None = None  # the pattern's text, as given (echoed verbatim)
    schedule_expression: str | None = None
    state: str = "ENABLED"
    description: str | None = None
    role_arn: str | None = None
    created_at: float  # a rate schedule's anchor
    modified_at: float

    @property
    def enabled(self) -> bool:
        # ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS is enabled too (it widens which AWS
        # events match, which Nimbus has none of).
        return self.state != "DISABLED"


@dataclass(frozen=True, kw_only=True)
class RuleRequest:
    """PutRule's settings."""

    bus: str
    name: str
    event_pattern: str | None = None
    schedule_expression: str | None = None
    state: str = "ENABLED"
    description: str | None = None
    role_arn: str | None = None


@dataclass(frozen=True, kw_only=True)
class InputTransformer:
    template: str
    paths: Mapping[str, str] = field(default_factory=dict)  # placeholder -> JSON path


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    maximum_retry_attempts: int | None = None
    maximum_event_age_s: int | None = None

    @property
    def attempts(self) -> int:
        return (
            DEFAULT_RETRY_ATTEMPTS
            if self.maximum_retry_attempts is None
            else self.maximum_retry_attempts
        )

    @property
    def event_age_s(self) -> int:
        return DEFAULT_EVENT_AGE_S if self.maximum_event_age_s is None else self.maximum_event_age_s


@dataclass(frozen=True, kw_only=True)
class Target:
    id: str
    arn: str
    role_arn: str | None = None
    input: str | None = None  # JSON text sent instead of the event
    input_path: str | None = None  # the part of the event sent
    input_transformer: InputTransformer | None = None
    retry_policy: RetryPolicy | None = None  # None: AWS's defaults (and not echoed)
    dead_letter_arn: str | None = None  # an SQS queue for events that could not be delivered
    added_at: float = 0.0  # ListTargetsByRule's order

    @property
    def retries(self) -> RetryPolicy:
        return self.retry_policy if self.retry_policy is not None else RetryPolicy()


@dataclass(frozen=True, kw_only=True)
class TargetFailure:
    """One target PutTargets or RemoveTargets did not put or remove (``FailedEntries``)."""

    target_id: str
    code: str
    message: str


@dataclass(frozen=True, kw_only=True)
class PutEventsEntry:
    """One PutEvents entry as sent (unchecked: ``events.envelope`` checks it)."""

    source: str | None = None
    detail_type: str | None = None
    detail: str | None = None
    resources: tuple[str, ...] = ()
    bus: str | None = None  # EventBusName: a name or an event-bus ARN; None: default
    time: float | None = None  # epoch seconds
    trace_header: str | None = None


@dataclass(frozen=True, kw_only=True)
class EntryResult:
    """PutEvents' answer for one entry: its EventId, or why it was refused."""

    event_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
