"""Asynchronous invocation settings of a function, version or alias
(Put/Get/Update/Delete/ListFunctionEventInvokeConfigs), and the values that apply."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_RETRY_ATTEMPTS = 2
DEFAULT_MAX_EVENT_AGE_S = 21_600  # six hours
MIN_EVENT_AGE_S = 60
MAX_EVENT_AGE_S = 21_600
MAX_RETRY_ATTEMPTS = 2


@dataclass(frozen=True, kw_only=True)
class EventInvokeConfig:
    """What was configured; ``None`` means "not set" (AWS leaves unset settings out)."""

    function_name: str
    qualifier: str  # "$LATEST" when configured on the unqualified function
    maximum_retry_attempts: int | None = None
    maximum_event_age_s: int | None = None
    on_success: str | None = None  # destination ARN
    on_failure: str | None = None
    last_modified: float = 0.0

    def to_record(self) -> dict[str, Any]:
        return {
            "maximum_retry_attempts": self.maximum_retry_attempts,
            "maximum_event_age_s": self.maximum_event_age_s,
            "on_success": self.on_success,
            "on_failure": self.on_failure,
            "last_modified": self.last_modified,
        }

    @classmethod
    def from_record(
        cls, function_name: str, qualifier: str, record: dict[str, Any]
    ) -> EventInvokeConfig:
        return cls(function_name=function_name, qualifier=qualifier, **record)


@dataclass(frozen=True, kw_only=True)
class EffectiveEventConfig:
    """The settings an event is processed with: configured values or AWS's defaults."""

    maximum_retry_attempts: int = DEFAULT_MAX_RETRY_ATTEMPTS
    maximum_event_age_s: int = DEFAULT_MAX_EVENT_AGE_S
    on_success: str | None = None
    on_failure: str | None = None

    @classmethod
    def of(cls, config: EventInvokeConfig | None) -> EffectiveEventConfig:
        if config is None:
            return cls()
        return cls(
            maximum_retry_attempts=(
                DEFAULT_MAX_RETRY_ATTEMPTS
                if config.maximum_retry_attempts is None
                else config.maximum_retry_attempts
            ),
            maximum_event_age_s=(
                DEFAULT_MAX_EVENT_AGE_S
                if config.maximum_event_age_s is None
                else config.maximum_event_age_s
            ),
            on_success=config.on_success,
            on_failure=config.on_failure,
        )
