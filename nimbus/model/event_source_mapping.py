"""An event source mapping (CreateEventSourceMapping): a poller that reads a source and invokes
a function with batches of its records. The value is source-neutral; which fields a source
uses is decided by that source's rules (``events/mapping_rules.py``).

It lives in model/ so that the store persists it and the frontend renders it without either
importing the service that runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# The settled states a mapping is stored in; AWS's transitional ones (Creating, Enabling,
# Updating, Disabling, Deleting) appear only in the answer to the call that caused them.
ENABLED = "Enabled"
DISABLED = "Disabled"
REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
# AWS's StateTransitionReason for a change a user asked for (SQS mappings).
USER_INITIATED = "USER_INITIATED"


@dataclass(frozen=True, kw_only=True)
class MappingStatus:
    """What a running source reports of a mapping (GetEventSourceMapping's
    StateTransitionReason and LastProcessingResult)."""

    state_reason: str
    last_processing_result: str | None


@dataclass(frozen=True, kw_only=True)
class SourceAccess:
    """One SourceAccessConfigurations entry: ``BASIC_AUTH`` (a secret's ARN) or
    ``VIRTUAL_HOST`` (a RabbitMQ virtual host) for Amazon MQ brokers."""

    type: str
    uri: str


@dataclass(frozen=True, kw_only=True)
class MappingSettings:
    """What a user sets on a mapping (everything but its identity and its source)."""

    function_name: str
    qualifier: str | None = None  # a version or alias, when FunctionName was qualified
    enabled: bool = True
    batch_size: int = 10
    batching_window_s: int = 0
    response_types: tuple[str, ...] = ()
    maximum_concurrency: int | None = None  # ScalingConfig.MaximumConcurrency
    filter_patterns: tuple[str, ...] = ()  # FilterCriteria.Filters[].Pattern (JSON text)
    tags: Mapping[str, str] = field(default_factory=dict)
    # Amazon MQ: the one queue consumed, and how to reach the broker (BASIC_AUTH, VIRTUAL_HOST).
    queues: tuple[str, ...] = ()
    source_access: tuple[SourceAccess, ...] = ()
    # True while MaximumBatchingWindowInSeconds was never set on a source whose default window
    # is under a second (AWS: 500 ms for Amazon MQ), which the integer field cannot express.
    default_window: bool = False

    @property
    def reports_item_failures(self) -> bool:
        return REPORT_BATCH_ITEM_FAILURES in self.response_types


@dataclass(frozen=True, kw_only=True)
class EventSourceMapping:
    uuid: str
    source_arn: str
    settings: MappingSettings
    last_modified: float
    state_reason: str = USER_INITIATED
    # What the source reports of its last attempt (Amazon MQ: "OK", "No records processed",
    # "PROBLEM: ..."); not stored: the source works it out again when it resumes.
    last_processing_result: str | None = None

    @property
    def state(self) -> str:
        return ENABLED if self.settings.enabled else DISABLED

    def to_record(self) -> dict[str, Any]:
        """The settings as the store's JSON ``config`` column holds them."""
        s = self.settings
        return {
            "qualifier": s.qualifier,
            "batch_size": s.batch_size,
            "batching_window_s": s.batching_window_s,
            "response_types": list(s.response_types),
            "maximum_concurrency": s.maximum_concurrency,
            "filter_patterns": list(s.filter_patterns),
            "tags": dict(s.tags),
            "state_reason": self.state_reason,
            "queues": list(s.queues),
            "source_access": [{"type": a.type, "uri": a.uri} for a in s.source_access],
            "default_window": s.default_window,
        }

    @classmethod
    def from_record(
        cls,
        *,
        uuid: str,
        function: str,
        source_arn: str,
        state: str,
        last_modified: float,
        config: Mapping[str, Any],
    ) -> EventSourceMapping:
        return cls(
            uuid=uuid,
            source_arn=source_arn,
            last_modified=last_modified,
            state_reason=str(config.get("state_reason", USER_INITIATED)),
            settings=MappingSettings(
                function_name=function,
                qualifier=config.get("qualifier"),
                enabled=state == ENABLED,
                batch_size=int(config.get("batch_size", 10)),
                batching_window_s=int(config.get("batching_window_s", 0)),
                response_types=tuple(config.get("response_types", ())),
                maximum_concurrency=config.get("maximum_concurrency"),
                filter_patterns=tuple(config.get("filter_patterns", ())),
                tags=dict(config.get("tags", {})),
                queues=tuple(config.get("queues", ())),
                source_access=tuple(
                    SourceAccess(type=str(a["type"]), uri=str(a["uri"]))
                    for a in config.get("source_access", ())
                ),
                default_window=bool(config.get("default_window", False)),
            ),
        )


@dataclass(frozen=True, kw_only=True)
class MappingChanges:
    """A Create or Update request, typed but not yet checked (``None``: not given).

    ``function_name`` is as the caller wrote it (name, partial or full ARN, maybe qualified).
    ``other_parameters`` names the request members given that belong to other kinds of
    source (StartingPosition, Topics, DestinationConfig, ...); each source's rules decide
    which it accepts."""

    function_name: str | None = None
    enabled: bool | None = None
    batch_size: int | None = None
    batching_window_s: int | None = None
    response_types: tuple[str, ...] | None = None
    scaling_given: bool = False  # ScalingConfig was present (``{}`` removes the limit)
    maximum_concurrency: int | None = None
    filter_patterns: tuple[str, ...] | None = None
    tags: Mapping[str, str] | None = None
    queues: tuple[str, ...] | None = None  # Queues (Amazon MQ)
    source_access: tuple[SourceAccess, ...] | None = None  # SourceAccessConfigurations
    other_parameters: tuple[str, ...] = ()
