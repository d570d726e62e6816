"""The timer's last fired tick per key (``events/timer.py``): one row a timer, written in its
own transaction before the tick's callback runs, so a tick never fires twice."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.store.schema import timer_fired as t


class TimerRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def last_fired(self, key: str) -> float | None:
        async with self._engine.connect() as conn:
            value = await conn.scalar(sa.select(t.c.fired_at).where(t.c.key == key))
        return None if value is None else float(value)

    async def record(self, key: str, tick: float) -> None:
        async with self._engine.begin() as conn:
            updated = await conn.execute(t.update().where(t.c.key == key).values(fired_at=tick))
            if updated.rowcount == 0:
                await conn.execute(t.insert().values(key=key, fired_at=tick))

    async def forget(self, key: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(t.delete().where(t.c.key == key))
