"""Lambda's event filtering for event source mappings ("Control which events Lambda sends to
your function"): a mapping's FilterCriteria, checked when it is set and compiled once, and
the decision which records of a receive go to the function.

Up to five filters, ORed: a record matching any of them is delivered; a record matching none
is discarded, and for an SQS source deleted from the queue ("Filtering Amazon SQS messages":
Lambda removes messages that do not match). A pattern sees the record as the function would
(``body``, ``attributes``, ``messageAttributes``, ``md5OfBody``, ``eventSource``, ...), with a
body that is a JSON object decoded, so that ``{"body": {"kind": ["order"]}}`` reaches into it;
any other body stays the string it is, matched only by a plain-string filter on ``body``
(``{"body": ["ping"]}``, ``{"body": [{"prefix": "ping"}]}``).

Pure: values in, values out; ``sqs_poller.py`` deletes what ``keeps_sqs_record`` refuses.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from nimbus.errors import InvalidParameterValueError, ValidationError
from nimbus.events.event_pattern import EventPattern, InvalidEventPattern, matches, parse_pattern

log = logging.getLogger(__name__)

# Lambda's quota: five filters per event source mapping (raisable to ten on request).
MAX_FILTERS = 5
# botocore's Pattern shape: a string of at most 4096 characters.
MAX_PATTERN_LENGTH = 4096


def check_filters(patterns: Sequence[str]) -> tuple[str, ...]:
    """FilterCriteria.Filters[].Pattern as AWS checks them at Create/UpdateEventSourceMapping:
    botocore's length limit (ValidationException), then the quota and each pattern's
    validity (InvalidParameterValueException, with Lambda's message and the reason)."""
    for index, pattern in enumerate(patterns, start=1):
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise ValidationError(
                f"1 validation error detected: Value '{pattern[:64]}...' at "
                f"'filterCriteria.filters.{index}.member.pattern' failed to satisfy constraint: "
                f"Member must have length less than or equal to {MAX_PATTERN_LENGTH}"
            )
    if len(patterns) > MAX_FILTERS:
        raise InvalidParameterValueError(
            f"Invalid filter criteria: {len(patterns)} filters given; an event source mapping "
            f"takes at most {MAX_FILTERS}, ORed together."
        )
    for pattern in patterns:
        try:
            parse_pattern(pattern)
        except InvalidEventPattern as exc:
            raise InvalidParameterValueError(
                f"Invalid filter pattern definition. Reason: {exc} (in {pattern!r}). A pattern "
                'is a JSON object whose leaves are arrays, such as {"body": {"kind": ["order"]}}.'
            ) from None
    return tuple(patterns)


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """A mapping's compiled filters; no filters admits every record. ``unreadable`` holds
    stored filters that no longer parse: with one, the filter admits every record."""

    patterns: tuple[EventPattern, ...] = ()
    unreadable: tuple[str, ...] = ()

    @property
    def filters(self) -> bool:
        """Does this filter refuse anything? (False: every record is admitted.)"""
        return bool(self.patterns) and not self.unreadable

    def admits(self, record: Mapping[str, Any]) -> bool:
        if not self.filters:
            return True
        try:
            return any(matches(p, record) for p in self.patterns)
        except Exception:  # a matcher's bug must not drop the record: deliver it
            log.exception("event source mapping filter failed on a record; it is delivered")
            return True


def compile_filters(patterns: Sequence[str]) -> RecordFilter:
    """The filters of a stored mapping. They were checked when set; one that no longer
    parses (stored by an older, laxer Nimbus, or deeper than ``MAX_DEPTH`` now allows)
    cannot be evaluated, and the filters are ORed, so any record might match it. A refused
    SQS message is deleted, so guessing "no" would lose messages: such a mapping admits
    every record (the function sees unfiltered input) until its filters are updated."""
    compiled, unreadable = [], []
    for text in patterns:
        try:
            compiled.append(parse_pattern(text))
        except InvalidEventPattern as exc:
            unreadable.append(text)
            log.warning(
                "event source mapping filter %r no longer parses (%s): every record is "
                "delivered until FilterCriteria is updated",
                text,
                exc,
            )
    return RecordFilter(tuple(compiled), tuple(unreadable))


def sqs_view(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The SQS record as patterns see it: a JSON-object body decoded under ``body``."""
    body = record.get("body")
    if not isinstance(body, str) or not body.lstrip().startswith("{"):
        return record
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return record
    if not isinstance(decoded, dict):
        return record
    return {**record, "body": decoded}


def keeps_sqs_record(record_filter: RecordFilter, record: Mapping[str, Any]) -> bool:
    """Does the SQS record go to the function? (Without filters, without decoding it.)"""
    return not record_filter.filters or record_filter.admits(sqs_view(record))
