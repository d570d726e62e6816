"""Event source mappings in the SQL store: one row per mapping, its settings as JSON.

Mapping writes are rare (a user's Create/Update/Delete), so each is its own transaction,
committed before the API answers: a mapping answered with a 202 survives a restart.
"""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.model.event_source_mapping import EventSourceMapping
from nimbus.store.schema import event_source_mappings as t


class MappingRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self) -> list[EventSourceMapping]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(t).order_by(t.c.last_modified))).all()
        return [
            EventSourceMapping.from_record(
                uuid=row.uuid,
                function=row.function,
                source_arn=row.source_arn,
                state=row.state,
                last_modified=row.last_modified,
                config=orjson.loads(row.config),
            )
            for row in rows
        ]

    async def put(self, mapping: EventSourceMapping) -> None:
        """Insert or replace the mapping with this UUID."""
        values = {
            "function": mapping.settings.function_name,
            "source_arn": mapping.source_arn,
            "config": orjson.dumps(mapping.to_record()).decode(),
            "state": mapping.state,
            "last_modified": mapping.last_modified,
        }
        async with self._engine.begin() as conn:
            updated = await conn.execute(t.update().where(t.c.uuid == mapping.uuid).values(values))
            if updated.rowcount == 0:
                await conn.execute(t.insert().values(uuid=mapping.uuid, **values))

    async def delete(self, uuid: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(t.delete().where(t.c.uuid == uuid))
