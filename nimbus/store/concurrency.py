"""Reserved and provisioned concurrency settings in the SQL store.

Both are small tables read whole at start-up (the data plane keeps them in memory) and
written on each Put/Delete, each write in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.store.schema import function_concurrency, provisioned_concurrency


class ReservationRepository:
    """PutFunctionConcurrency settings: function name -> reserved concurrent executions."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def all(self) -> dict[str, int]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(function_concurrency))).all()
        return {row.name: int(row.reserved) for row in rows}

    async def put(self, name: str, reserved: int) -> None:
        table = function_concurrency
        async with self._engine.begin() as conn:
            await conn.execute(table.delete().where(table.c.name == name))
            await conn.execute(table.insert().values(name=name, reserved=reserved))

    async def delete(self, name: str) -> None:
        table = function_concurrency
        async with self._engine.begin() as conn:
            await conn.execute(table.delete().where(table.c.name == name))


@dataclass(frozen=True, slots=True, kw_only=True)
class ProvisionedSetting:
    """One PutProvisionedConcurrencyConfig, as stored."""

    name: str
    qualifier: str
    requested: int
    last_modified: str


class ProvisionedRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def all(self) -> list[ProvisionedSetting]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(provisioned_concurrency))).all()
        return [
            ProvisionedSetting(
                name=row.name,
                qualifier=row.qualifier,
                requested=int(row.requested),
                last_modified=row.last_modified,
            )
            for row in rows
        ]

    async def put(self, setting: ProvisionedSetting) -> None:
        table = provisioned_concurrency
        async with self._engine.begin() as conn:
            await conn.execute(
                table.delete().where(
                    table.c.name == setting.name, table.c.qualifier == setting.qualifier
                )
            )
            await conn.execute(
                table.insert().values(
                    name=setting.name,
                    qualifier=setting.qualifier,
                    requested=setting.requested,
                    last_modified=setting.last_modified,
                )
            )

    async def delete(self, name: str, qualifier: str | None = None) -> None:
        """Delete one qualifier's setting, or every setting of the function."""
        table = provisioned_concurrency
        query = table.delete().where(table.c.name == name)
        if qualifier is not None:
            query = query.where(table.c.qualifier == qualifier)
        async with self._engine.begin() as conn:
            await conn.execute(query)
