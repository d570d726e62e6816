"""The timer's last fired tick per key (``events/timer.py``): one row a timer, written in its
own transaction before the tick's callback runs, so a tick never fires twice.

``record`` is a compare-and-set, so that of several nodes on one database only one fires a
tick: the row moves forward only (``UPDATE ... WHERE fired_at < :tick``), and of two nodes
inserting a timer's first row the primary key lets one win."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.store.schema import timer_fired as t


class TimerRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def last_fired(self, key: str) -> float | None:
        async with self._engine.connect() as conn:
            value = await conn.scalar(sa.select(t.c.fired_at).where(t.c.key == key))
        return None if value is None else float(value)

    async def record(self, key: str, tick: float) -> bool:
        """True when this call moved ``key``'s last tick forward to ``tick``; False when it
        was already at or past it (another node fired it)."""
        async with self._engine.begin() as conn:
            moved = await conn.execute(
                t.update().where(t.c.key == key, t.c.fired_at < tick).values(fired_at=tick)
            )
            if moved.rowcount:
                return True
            if await conn.scalar(sa.select(t.c.key).where(t.c.key == key)) is not None:
                return False
        try:
            async with self._engine.begin() as conn:
                await conn.execute(t.insert().values(key=key, fired_at=tick))
        except IntegrityError:  # another node wrote the first row in between
            return False
        return True

    async def forget(self, key: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(t.delete().where(t.c.key == key))
