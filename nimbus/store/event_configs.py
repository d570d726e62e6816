"""Event invoke configurations (per function and qualifier) in the SQL store."""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.model.event_config import EventInvokeConfig
from nimbus.store.schema import event_invoke_configs as t


class EventConfigRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self) -> list[EventInvokeConfig]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(t))).all()
        return [
            EventInvokeConfig.from_record(row.function, row.qualifier, orjson.loads(row.config))
            for row in rows
        ]

    async def put(self, config: EventInvokeConfig) -> None:
        key = (t.c.function == config.function_name) & (t.c.qualifier == config.qualifier)
        async with self._engine.begin() as conn:
            await conn.execute(t.delete().where(key))
            await conn.execute(
                t.insert().values(
                    function=config.function_name,
                    qualifier=config.qualifier,
                    config=orjson.dumps(config.to_record()).decode(),
                )
            )

    async def delete(self, function: str, qualifier: str | None = None) -> None:
        """Delete one configuration, or (``qualifier`` None) all of a function's."""
        condition = t.c.function == function
        if qualifier is not None:
            condition = condition & (t.c.qualifier == qualifier)
        async with self._engine.begin() as conn:
            await conn.execute(t.delete().where(condition))
