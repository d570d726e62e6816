"""EventBridge's API reading PutEvents: an entry's ``Time`` it cannot read as a date is a
SerializationException (as AWS answers one), not a crash deeper in."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from nimbus.errors import SerializationError
from nimbus.frontend.eventbridge_api import EventBridgeApi
from nimbus.model.eventbridge import EntryResult, PutEventsEntry


class Events:
    def __init__(self) -> None:
        self.put: list[PutEventsEntry] = []

    async def put_events(self, entries: Sequence[PutEventsEntry]) -> list[EntryResult]:
        self.put += entries
        return [EntryResult(event_id="e") for _ in entries]


def _entry(time: Any) -> dict[str, Any]:
    return {"Source": "shop", "DetailType": "t", "Detail": "{}", "Time": time}


@pytest.mark.parametrize("time", [1e20, 253_402_300_800, -1, 1e308, "2024-01-01T00:00:00Z"])
async def test_a_time_that_is_no_date_is_a_serialization_error(time: Any) -> None:
    events = Events()
    api = EventBridgeApi(buses=None, rules=None, events=events)  # type: ignore[arg-type]
    with pytest.raises(SerializationError, match="Time"):
        await api.call("PutEvents", {"Entries": [_entry(time)]})
    assert events.put == []


@pytest.mark.parametrize("time", [0, 1_714_557_600, 1_714_557_600.5, 253_402_300_799])
async def test_times_from_1970_to_9999_are_taken(time: float) -> None:
    events = Events()
    api = EventBridgeApi(buses=None, rules=None, events=events)  # type: ignore[arg-type]
    await api.call("PutEvents", {"Entries": [_entry(time)]})
    assert [e.time for e in events.put] == [float(time)]
