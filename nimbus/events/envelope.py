"""EventBridge's event envelope (pure): a PutEvents entry checked and wrapped as AWS delivers
it, the ``Scheduled Event`` a scheduled rule sends, and PutEvents' size limit.

Every event reaches its targets as ``{"version": "0", "id", "detail-type", "source",
"account", "time", "region", "resources", "detail"}`` ("Amazon EventBridge events"), ``time``
in whole seconds of UTC (``2024-05-01T10:00:00Z``): the entry's Time, else when it was
received. An entry's faults are its own (AWS answers them in its result entry, the others
are still put), with AWS's codes and words (LocalStack's AWS-validated snapshots):
``InvalidArgument`` for a missing Source, DetailType or Detail, ``MalformedDetail`` for a
Detail that is not a JSON object; a Source beginning ``aws.`` is AWS's own
(``NotAuthorizedForSourceException``).

A Detail nested deeper than ``MAX_DETAIL_DEPTH`` is ``MalformedDetail`` too (Nimbus's limit,
not one AWS documents): orjson, which writes every event a target or dead-letter queue is
sent, writes at most 254 levels, and the envelope and a Lambda destination's record wrap the
detail in two more. Refused here, such an event is never accepted and then lost.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from nimbus.errors import EventsValidationError
from nimbus.model.eventbridge import PutEventsEntry

# PutEvents: "The total size of all event entries in the request ... 256 KB" ("Calculating
# PutEvents event entry size").
MAX_REQUEST_BYTES: Final = 262_144
MAX_ENTRIES: Final = 10
_TIME_BYTES: Final = 14  # what a Time counts for in an entry's size
MAX_DETAIL_DEPTH: Final = 250


@dataclass(frozen=True, kw_only=True)
class EntryError:
    code: str
    message: str


def iso_time(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))


def entry_size(entry: PutEventsEntry) -> int:
    """An entry's size as AWS counts it: 14 bytes for a Time, then the UTF-8 bytes of Source,
    DetailType, Detail and each resource."""
    size = _TIME_BYTES if entry.time is not None else 0
    for text in (entry.source, entry.detail_type, entry.detail, *entry.resources):
        if text is not None:
            size += len(text.encode())
    return size


def check_request(entries: Sequence[PutEventsEntry]) -> None:
    """The request's own limits: 1 to 10 entries, 256 KB in all (ValidationException)."""
    if not 1 <= len(entries) <= MAX_ENTRIES:
        bound = f"less than or equal to {MAX_ENTRIES}" if entries else "greater than or equal to 1"
        raise EventsValidationError(
            f"1 validation error detected: Value at 'entries' failed to satisfy constraint: "
            f"Member must have length {bound}"
        )
    if sum(entry_size(e) for e in entries) > MAX_REQUEST_BYTES:
        raise EventsValidationError("Total size of the entries in the request is over the limit.")


def _required(name: str) -> EntryError:
    return EntryError(
        code="InvalidArgument",
        message=f"Parameter {name} is not valid. Reason: {name} is a required argument.",
    )


def depth(value: Any) -> int:
    """How many objects and arrays deep ``value`` (decoded JSON) nests: ``{}`` is 1.
    Iterative: orjson reads 1024 levels, deeper than Python's recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, level = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        deepest = max(deepest, level)
        stack.extend((c, level + 1) for c in children if isinstance(c, dict | list))
    return deepest


def build_event(
    entry: PutEventsEntry,
    *,
    event_id: str,
    received_at: float,
    region: str,
    account: str,
) -> dict[str, Any] | EntryError:
    """The event ``entry`` puts, or why it is refused."""
    if not entry.source:
        return _required("Source")
    if not entry.detail_type:
        return _required("DetailType")
    if not entry.detail:
        return _required("Detail")
    try:
        detail = orjson.loads(entry.detail)
    except orjson.JSONDecodeError:
        detail = None
    if not isinstance(detail, dict):
        return EntryError(code="MalformedDetail", message="Detail is malformed.")
    if depth(detail) > MAX_DETAIL_DEPTH:
        return EntryError(
            code="MalformedDetail",
            message=f"Detail is malformed: it nests objects and arrays more than "
            f"{MAX_DETAIL_DEPTH} levels deep.",
        )
    if entry.source.startswith("aws."):
        return EntryError(
            code="NotAuthorizedForSourceException", message="Not authorized for the source."
        )
    return {
        "version": "0",
        "id": event_id,
        "detail-type": entry.detail_type,
        "source": entry.source,
        "account": account,
        "time": iso_time(entry.time if entry.time is not None else received_at),
        "region": region,
        "resources": list(entry.resources),
        "detail": detail,
    }


def scheduled_event(
    *, event_id: str, rule_arn: str, fired_at: float, region: str, account: str
) -> dict[str, Any]:
    """What a scheduled rule sends each time it fires ("Creating a rule that runs on a
    schedule": source ``aws.events``, detail-type ``Scheduled Event``, the rule's ARN as the
    one resource, an empty detail)."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": iso_time(fired_at),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }
