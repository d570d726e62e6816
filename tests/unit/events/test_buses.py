"""Event buses over a real (temporary SQLite) store: a custom bus's name has no "/" (that is
for partner buses), refused in AWS's words."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.errors import EventsValidationError
from nimbus.events.buses import BusService
from nimbus.store.database import open_engine
from nimbus.store.eventbridge import EventBridgeRepository
from nimbus.testing.clock import ManualClock


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    yield engine
    await engine.dispose()


@pytest.mark.parametrize("name", ["team/bus", "aws.partner/saas.com/1/x", "/", "a/"])
async def test_a_custom_bus_name_has_no_slash(engine: AsyncEngine, name: str) -> None:
    repo = EventBridgeRepository(engine)
    buses = BusService(repo=repo, clock=ManualClock(0.0), region="us-east-1", account="0" * 12)
    await buses.load([])
    with pytest.raises(EventsValidationError) as refused:
        await buses.create(name, None)
    assert refused.value.message == "Event bus name must not contain '/'."
    assert not buses.exists(name)
    stored, _, _ = await repo.load()
    assert [b.name for b in stored] == ["default"]
