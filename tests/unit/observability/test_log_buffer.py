"""The log store's write buffer is bounded in bytes, not only in events: 100,000 events of
256 KB would otherwise be 25 GB of memory while the database is slow."""

from __future__ import annotations

from pathlib import Path

import pytest

from nimbus.model.invocation import LogEvent
from nimbus.observability import logs
from nimbus.store.database import open_engine


def event(n: int, size: int) -> LogEvent:
    return LogEvent(group="g", stream="s", timestamp_ms=n, message=str(n % 10) * size)


async def test_the_oldest_events_are_dropped_beyond_the_byte_bound(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(logs, "MAX_BUFFER_BYTES", 1000)
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    store = logs.LogStore(engine)
    store.emit([event(n, 100) for n in range(8)])
    store.emit([event(n, 100) for n in range(8, 15)])
    await store.flush()
    stored = await store.query("g")
    assert [e.timestamp_ms for e in stored] == list(range(5, 15))  # the newest 1000 bytes
    store.emit([event(99, 10)])  # the bound is counted afresh after a flush
    await store.flush()
    assert [e.timestamp_ms for e in await store.query("g")][-1] == 99
    await engine.dispose()
