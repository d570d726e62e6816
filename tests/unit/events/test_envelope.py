"""PutEvents' entries checked and wrapped in EventBridge's envelope, with AWS's codes and
words (LocalStack's AWS-validated snapshots), and the request's own limits."""

from __future__ import annotations

import pytest

from nimbus.errors import EventsValidationError
from nimbus.events.envelope import (
    MAX_DETAIL_DEPTH,
    EntryError,
    build_event,
    check_request,
    entry_size,
    scheduled_event,
)
from nimbus.model.eventbridge import PutEventsEntry

T = 1_714_557_600.0  # 2024-05-01T10:00:00Z


def built(**entry: object) -> object:
    return build_event(
        PutEventsEntry(**entry),  # type: ignore[arg-type]
        event_id="e-1",
        received_at=T,
        region="us-east-1",
        account="000000000000",
    )


def test_an_entry_becomes_the_envelope() -> None:
    assert built(source="shop", detail_type="Order", detail='{"n": 1}', resources=("arn:x",)) == {
        "version": "0",
        "id": "e-1",
        "detail-type": "Order",
        "source": "shop",
        "account": "000000000000",
        "time": "2024-05-01T10:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:x"],
        "detail": {"n": 1},
    }


def test_the_entry_time_wins_in_whole_seconds() -> None:
    event = built(source="s", detail_type="d", detail="{}", time=T + 61.9)
    assert isinstance(event, dict) and event["time"] == "2024-05-01T10:01:01Z"


@pytest.mark.parametrize(
    ("entry", "code", "message"),
    [
        (
            {"detail_type": "d", "detail": "{}"},
            "InvalidArgument",
            "Parameter Source is not valid. Reason: Source is a required argument.",
        ),
        (
            {"source": "s", "detail": "{}"},
            "InvalidArgument",
            "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
        ),
        (
            {"source": "s", "detail_type": "d"},
            "InvalidArgument",
            "Parameter Detail is not valid. Reason: Detail is a required argument.",
        ),
        (
            {"source": "s", "detail_type": "d", "detail": "[1]"},
            "MalformedDetail",
            "Detail is malformed.",
        ),
        (
            {"source": "s", "detail_type": "d", "detail": '"text"'},
            "MalformedDetail",
            "Detail is malformed.",
        ),
        (
            {"source": "s", "detail_type": "d", "detail": "{nope"},
            "MalformedDetail",
            "Detail is malformed.",
        ),
        (
            {"source": "aws.ec2", "detail_type": "d", "detail": "{}"},
            "NotAuthorizedForSourceException",
            "Not authorized for the source.",
        ),
    ],
)
def test_an_entry_s_faults_are_its_own(entry: dict[str, str], code: str, message: str) -> None:
    assert built(**entry) == EntryError(code=code, message=message)


def test_the_request_has_1_to_10_entries_and_256_kb() -> None:
    small = PutEventsEntry(source="s", detail_type="d", detail="{}")
    check_request([small] * 10)
    for entries in ([], [small] * 11):
        with pytest.raises(EventsValidationError, match="at 'entries' failed to satisfy"):
            check_request(entries)
    big = PutEventsEntry(source="s", detail_type="d", detail='{"x": "' + "a" * 262_140 + '"}')
    assert entry_size(big) > 262_144
    with pytest.raises(EventsValidationError, match="Total size of the entries"):
        check_request([big])
    # 14 bytes for a Time, then UTF-8 bytes.
    assert entry_size(PutEventsEntry(source="é", detail_type="d", detail="{}", time=T)) == 19


def test_a_scheduled_event() -> None:
    rule = "arn:aws:events:us-east-1:000000000000:rule/every-minute"
    assert scheduled_event(
        event_id="e", rule_arn=rule, fired_at=T, region="us-east-1", account="000000000000"
    ) == {
        "version": "0",
        "id": "e",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": "2024-05-01T10:00:00Z",
        "region": "us-east-1",
        "resources": [rule],
        "detail": {},
    }


def _nested(levels: int) -> str:
    """A Detail object ``levels`` deep: {"a": [[...]]}."""
    return '{"a": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


def test_a_detail_nested_past_what_can_be_written_is_malformed() -> None:
    """orjson reads 1024 levels but writes 254: an event nested deeper could be accepted and
    never delivered (nor dead-lettered), so it is refused instead."""
    ok = built(source="s", detail_type="t", detail=_nested(MAX_DETAIL_DEPTH))
    assert isinstance(ok, dict)
    deep = built(source="s", detail_type="t", detail=_nested(MAX_DETAIL_DEPTH + 1))
    assert deep == EntryError(
        code="MalformedDetail",
        message="Detail is malformed: it nests objects and arrays more than 250 levels deep.",
    )
    assert isinstance(built(source="s", detail_type="t", detail=_nested(1000)), EntryError)
