"""EventBridge Scheduler's schedule groups and schedules in the SQL store: one row each, a
schedule's settings as JSON. Writes are a user's Create/Update/Delete (or a one-time
schedule deleting itself), each its own transaction, committed before the API answers."""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.model.schedule import ScheduleConfig, ScheduleGroup, ScheduleSettings
from nimbus.store.schema import scheduler_groups as g
from nimbus.store.schema import scheduler_schedules as s


class ScheduleRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self) -> tuple[list[ScheduleGroup], list[ScheduleConfig]]:
        async with self._engine.connect() as conn:
            groups = (await conn.execute(sa.select(g))).all()
            schedules = (await conn.execute(sa.select(s))).all()
        return (
            [
                ScheduleGroup(
                    name=row.name,
                    created=row.created_at,
                    modified=row.modified_at,
                    tags=tuple((k, v) for k, v in orjson.loads(row.tags)),
                )
                for row in groups
            ],
            [
                ScheduleConfig(
                    group=row.group_name,
                    name=row.name,
                    settings=ScheduleSettings.from_record(orjson.loads(row.config)),
                    created=row.created_at,
                    modified=row.modified_at,
                )
                for row in schedules
            ],
        )

    async def put_group(self, group: ScheduleGroup) -> None:
        values = {
            "created_at": group.created,
            "modified_at": group.modified,
            "tags": orjson.dumps([list(kv) for kv in group.tags]).decode(),
        }
        async with self._engine.begin() as conn:
            updated = await conn.execute(g.update().where(g.c.name == group.name).values(values))
            if updated.rowcount == 0:
                await conn.execute(g.insert().values(name=group.name, **values))

    async def delete_group(self, name: str) -> None:
        """The group and every schedule in it, in one transaction."""
        async with self._engine.begin() as conn:
            await conn.execute(s.delete().where(s.c.group_name == name))
            await conn.execute(g.delete().where(g.c.name == name))

    async def put(self, schedule: ScheduleConfig) -> None:
        values = {
            "config": orjson.dumps(schedule.settings.to_record()).decode(),
            "created_at": schedule.created,
            "modified_at": schedule.modified,
        }
        where = sa.and_(s.c.group_name == schedule.group, s.c.name == schedule.name)
        async with self._engine.begin() as conn:
            updated = await conn.execute(s.update().where(where).values(values))
            if updated.rowcount == 0:
                await conn.execute(
                    s.insert().values(group_name=schedule.group, name=schedule.name, **values)
                )

    async def delete(self, group: str, name: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(s.delete().where(sa.and_(s.c.group_name == group, s.c.name == name)))
