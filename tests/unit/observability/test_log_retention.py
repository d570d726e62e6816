"""Log retention: expired events are deleted, young ones and other groups' kept — with a
manual clock over a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.model.invocation import LogEvent
from nimbus.observability.log_retention import (
    DAY_MS,
    FixedRetention,
    LogRetention,
    PrunePlan,
    cutoff_ms,
    plan,
)
from nimbus.observability.logs import LogStore
from nimbus.store.database import open_engine
from nimbus.store.schema import log_events
from nimbus.testing.clock import ManualClock

NOW_S = 1_700_000_000.0


def test_cutoff_is_now_minus_the_retention() -> None:
    assert cutoff_ms(NOW_S, 30) == int(NOW_S * 1000) - 30 * DAY_MS
    assert cutoff_ms(NOW_S, 0) is None  # 0: kept forever
    assert cutoff_ms(NOW_S, None) is None


def test_plan_gives_groups_with_their_own_policy_their_own_cutoff() -> None:
    policies = FixedRetention(days=30, groups={"/aws/lambda/a": 1, "/aws/lambda/b": None})
    assert plan(NOW_S, policies) == PrunePlan(
        default_cutoff_ms=int(NOW_S * 1000) - 30 * DAY_MS,
        own={"/aws/lambda/a": int(NOW_S * 1000) - DAY_MS, "/aws/lambda/b": None},
    )


@pytest_asyncio.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    instance = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    yield instance
    await instance.dispose()


async def write(engine: AsyncEngine, events: list[tuple[str, float]]) -> None:
    store = LogStore(engine)
    store.emit(
        [
            LogEvent(group=group, stream="s", timestamp_ms=int(at * 1000), message=f"{group}@{at}")
            for group, at in events
        ]
    )
    await store.flush()


async def remaining(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(log_events.c.message).order_by("id"))).all()
    return [row.message for row in rows]


async def test_prune_deletes_events_older_than_the_retention(engine: AsyncEngine) -> None:
    clock = ManualClock(start=NOW_S)
    await write(engine, [("g", NOW_S - 31 * 86400), ("g", NOW_S - 29 * 86400), ("g", NOW_S)])
    retention = LogRetention(engine, FixedRetention(days=30), clock)
    assert await retention.prune_once() == 1
    assert await remaining(engine) == [f"g@{NOW_S - 29 * 86400}", f"g@{NOW_S}"]
    clock.advance(2 * 86400)  # a day later the second one has expired too
    assert await retention.prune_once() == 1
    assert await remaining(engine) == [f"g@{NOW_S}"]


async def test_a_group_with_its_own_policy_keeps_to_it(engine: AsyncEngine) -> None:
    clock = ManualClock(start=NOW_S)
    old = NOW_S - 10 * 86400
    await write(engine, [("a", old), ("forever", old - 400 * 86400), ("other", old)])
    policies = FixedRetention(days=30, groups={"a": 7, "forever": None})
    assert await LogRetention(engine, policies, clock).prune_once() == 1
    assert await remaining(engine) == [f"forever@{old - 400 * 86400}", f"other@{old}"]


async def test_retention_zero_keeps_everything(engine: AsyncEngine) -> None:
    await write(engine, [("g", 1.0)])
    retention = LogRetention(engine, FixedRetention(days=0), ManualClock(start=NOW_S))
    assert await retention.prune_once() == 0
    assert await remaining(engine) == ["g@1.0"]


async def test_prune_deletes_in_batches_past_the_first(engine: AsyncEngine) -> None:
    clock = ManualClock(start=NOW_S)
    await write(engine, [("g", 1.0 + i) for i in range(12_000)] + [("g", NOW_S)])
    assert await LogRetention(engine, FixedRetention(days=1), clock).prune_once() == 12_000
    assert await remaining(engine) == [f"g@{NOW_S}"]
