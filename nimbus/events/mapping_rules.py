"""Pure rules of event source mappings: which sources are supported, what settings each
accepts (botocore's ranges, then AWS's per-source rules), when a batch is ready, what a
partial batch response means, and how many pollers a mapping runs.

Nothing here does I/O; the service (``mappings.py``) and the pollers (``sqs_poller.py``) call
these with values, and the unit tests call them with literals.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import orjson

from nimbus.errors import InvalidParameterValueError, ValidationError
from nimbus.events.record_filter import check_filters
from nimbus.model.event_source_mapping import (
    REPORT_BATCH_ITEM_FAILURES,
    MappingChanges,
    MappingSettings,
)

SQS = "sqs"
MQ = "mq"  # Amazon MQ brokers: RabbitMQ ones (events/rabbitmq_rules.py)
# botocore's Arn pattern for EventSourceArn.
_ARN_RE = re.compile(
    r"^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?"
    r"-[a-z]+-\d{1})?:(\d{12})?:(.*)$"
)
# Sources AWS maps that Nimbus has no built-in service for (yet).
_OTHER_SOURCES = {
    "kinesis": "Kinesis streams",
    "dynamodb": "DynamoDB streams",
    "kafka": "Amazon MSK (Kafka)",
    "rds": "DocumentDB change streams",
}

# botocore's ranges (BatchSize, MaximumBatchingWindowInSeconds, MaximumConcurrency).
MAX_BATCH_SIZE = 10_000
MAX_WINDOW_S = 300
MIN_CONCURRENCY, MAX_CONCURRENCY = 2, 1000
# SQS: a batch above 10 messages needs a batching window (AWS's own rule and message).
SQS_UNWINDOWED_MAX = 10
SQS_RECEIVE_MAX = 10  # messages one ReceiveMessage returns
SQS_LONG_POLL_S = 20  # AWS's pollers long-poll with the longest wait SQS allows
# A synchronous invoke's payload limit: a batch is closed before it would pass it (AWS:
# "the batch size, the batching window, or the 6 MB payload limit, whichever comes first").
PAYLOAD_LIMIT = 6 * 1024 * 1024
# AWS starts an SQS mapping with five pollers and adds more while the queue has a backlog,
# up to 300 more per minute (Lambda developer guide, "Scaling and processing").
INITIAL_POLLERS = 5
SCALE_UP_INTERVAL_S = 60 / 300


def source_kind(arn: str | None) -> str:
    """The kind of source an EventSourceArn names: Nimbus's own SQS queues, or RabbitMQ
    brokers named as Amazon MQ brokers."""
    if not arn:
        raise InvalidParameterValueError(
            "Unrecognized event source, must be kafka or specify an EventSourceArn"
        )
    match = _ARN_RE.fullmatch(arn)
    if match is None or len(arn) > 10_000:
        raise ValidationError(
            f"1 validation error detected: Value '{arn}' at 'eventSourceArn' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: "
            "arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?"
            "-[a-z]+-\\d{1})?:(\\d{12})?:(.*)"
        )
    service = arn.split(":")[2]
    if service in (SQS, MQ):
        return service
    raise unsupported(service)


def unsupported(service: str) -> InvalidParameterValueError:
    what = _OTHER_SOURCES.get(service, f"'{service}' resources")
    return InvalidParameterValueError(
        f"Event source mappings for {what} are not supported yet: Nimbus maps its built-in "
        "SQS queues (arn:aws:sqs:REGION:ACCOUNT:QUEUE) and RabbitMQ brokers "
        "(arn:aws:mq:REGION:ACCOUNT:broker:NAME:ID)."
    )


def defaults(kind: str, function_name: str, qualifier: str | None) -> MappingSettings:
    """A new mapping's settings before the request's are applied (AWS's SQS defaults:
    BatchSize 10, no batching window, enabled)."""
    return MappingSettings(function_name=function_name, qualifier=qualifier)


def apply_changes(
    kind: str,
    current: MappingSettings,
    changes: MappingChanges,
    *,
    function_name: str,
    qualifier: str | None,
) -> MappingSettings:
    """``current`` with ``changes`` applied, checked as AWS checks a request: botocore's
    ranges first (ValidationException), then the source's own rules
    (InvalidParameterValueException)."""
    if changes.other_parameters:
        names = ", ".join(changes.other_parameters)
        raise InvalidParameterValueError(
            f"Unsupported parameters for an SQS event source: {names}. They apply to streams "
            "and Kafka sources, which Nimbus does not map yet."
        )
    settings = replace(current, function_name=function_name, qualifier=qualifier)
    if changes.enabled is not None:
        settings = replace(settings, enabled=changes.enabled)
    if changes.batch_size is not None:
        check_range("batchSize", changes.batch_size, 1, MAX_BATCH_SIZE)
        settings = replace(settings, batch_size=changes.batch_size)
    if changes.batching_window_s is not None:
        check_range("maximumBatchingWindowInSeconds", changes.batching_window_s, 0, MAX_WINDOW_S)
        settings = replace(settings, batching_window_s=changes.batching_window_s)
    if changes.response_types is not None:
        settings = replace(settings, response_types=check_response_types(changes.response_types))
    if changes.scaling_given:
        if changes.maximum_concurrency is not None:
            check_range(
                "scalingConfig.maximumConcurrency",
                changes.maximum_concurrency,
                MIN_CONCURRENCY,
                MAX_CONCURRENCY,
            )
        settings = replace(settings, maximum_concurrency=changes.maximum_concurrency)
    if changes.filter_patterns is not None:
        settings = replace(settings, filter_patterns=check_filters(changes.filter_patterns))
    if changes.tags is not None:
        settings = replace(settings, tags=dict(changes.tags))
    if settings.batch_size > SQS_UNWINDOWED_MAX and settings.batching_window_s == 0:
        raise InvalidParameterValueError(
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is "
            "greater than 10"
        )
    return settings


def check_response_types(values: Sequence[str]) -> tuple[str, ...]:
    if len(values) > 1 or any(v != REPORT_BATCH_ITEM_FAILURES for v in values):
        raise ValidationError(
            f"1 validation error detected: Value '[{', '.join(values)}]' at "
            "'functionResponseTypes' failed to satisfy constraint: Member must satisfy "
            "constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]"
        )
    return tuple(values)


def check_visibility(queue_visibility_s: int, function_timeout_s: int) -> None:
    """AWS refuses a mapping whose queue would hand a message out again while the function
    still runs: the queue's visibility timeout must be at least the function's timeout."""
    if queue_visibility_s < function_timeout_s:
        raise InvalidParameterValueError(
            f"Queue visibility timeout: {queue_visibility_s} seconds is less than Function "
            f"timeout: {function_timeout_s} seconds"
        )


def check_range(member: str, value: int, low: int, high: int) -> None:
    """botocore's min/max of an integer member, as AWS's ValidationException words it."""
    if value < low:
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
            f"constraint: Member must have value less than or equal to {high}"
        )


# --- batching ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BatchState:
    records: int
    size_bytes: int
    opened_at: float | None  # monotonic time the batch's first record arrived
    now: float


def batch_ready(state: BatchState, *, batch_size: int, window_s: int) -> bool:
    """Invoke now? When the batch is full, when its window has closed, or (no window) as
    soon as it holds anything: without a window AWS invokes with what one receive returned."""
    if state.records == 0:
        return False
    if state.records >= batch_size or state.size_bytes >= PAYLOAD_LIMIT:
        return True
    assert state.opened_at is not None
    return window_s == 0 or state.now - state.opened_at >= window_s


def next_receive(state: BatchState, *, batch_size: int, window_s: int) -> tuple[int, int]:
    """(MaxNumberOfMessages, WaitTimeSeconds) of the next receive for a batch not ready yet:
    an empty batch long-polls; an open one waits at most for what is left of its window."""
    wanted = max(1, min(SQS_RECEIVE_MAX, batch_size - state.records))
    if state.records == 0 or state.opened_at is None:
        return wanted, SQS_LONG_POLL_S
    left = window_s - (state.now - state.opened_at)
    return wanted, max(0, min(SQS_LONG_POLL_S, math.ceil(left)))


def fits(size_bytes: int, record_bytes: int, records: int) -> bool:
    """May a record join the batch? The first always does (one message is at most 1 MiB)."""
    return records == 0 or size_bytes + record_bytes <= PAYLOAD_LIMIT


# --- partial batch responses -------------------------------------------------------------

ALL_FAILED = None


def failed_items(payload: bytes, message_ids: Sequence[str]) -> frozenset[str] | None:
    """The message ids a ReportBatchItemFailures response names, or ``ALL_FAILED``.

    As AWS documents ("Implementing partial batch responses"): an empty or null
    ``batchItemFailures`` list, an empty or null response, is complete success; a response
    that is not valid JSON, or an item whose ``itemIdentifier`` is empty, null, missing, or
    not the id of a message in the batch, fails the whole batch."""
    if not payload.strip():
        return frozenset()
    try:
        response = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return ALL_FAILED
    if response is None:
        return frozenset()
    if not isinstance(response, dict):
        return ALL_FAILED
    items = response.get("batchItemFailures")
    if items is None:
        return frozenset()
    if not isinstance(items, list):
        return ALL_FAILED
    known = set(message_ids)
    failed: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in known:
            return ALL_FAILED
        failed.add(identifier)
    return frozenset(failed)


# --- scaling -----------------------------------------------------------------------------

Outcome = Literal["full", "partial", "empty", "throttled", "error"]


@dataclass(frozen=True, kw_only=True)
class Scale:
    floor: int
    ceiling: int


def scale_bounds(maximum_concurrency: int | None, default_ceiling: int) -> Scale:
    """AWS: five pollers to start, more while there is a backlog, never more concurrent
    invokes than ScalingConfig.MaximumConcurrency (or the account's concurrency)."""
    ceiling = max(1, maximum_concurrency or default_ceiling)
    return Scale(floor=min(INITIAL_POLLERS, ceiling), ceiling=ceiling)


def next_pollers(
    current: int, outcome: Outcome, bounds: Scale, *, now: float, last_scale_up: float
) -> int:
    """How many pollers after one poller's cycle: a full batch means a backlog (one more,
    at most one per SCALE_UP_INTERVAL_S); an empty poll or a throttle means too many (one
    fewer, never below the floor)."""
    if (
        outcome == "full"
        and current < bounds.ceiling
        and now - last_scale_up >= SCALE_UP_INTERVAL_S
    ):
        return current + 1
    if outcome in ("empty", "throttled") and current > bounds.floor:
        return current - 1
    return min(max(current, bounds.floor), bounds.ceiling)


def backoff_s(failures: int, *, initial_s: float, max_s: float) -> float:
    """The pause after ``failures`` throttles or errors in a row (doubling, capped)."""
    if failures <= 0:
        return 0.0
    return float(min(max_s, initial_s * 2 ** min(failures - 1, 30)))
