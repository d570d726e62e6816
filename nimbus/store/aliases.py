"""Aliases in the SQL store: one row per (function, alias), the alias as a JSON document."""

from __future__ import annotations

from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from nimbus.model.alias import Alias, AliasTarget
from nimbus.store.schema import aliases


def _dump(alias: Alias) -> str:
    return orjson.dumps(
        {
            "version": alias.target.version,
            "weights": dict(alias.target.weights),
            "description": alias.description,
            "revision_id": alias.revision_id,
        }
    ).decode()


def _load(function: str, name: str, text: str) -> Alias:
    doc: dict[str, Any] = orjson.loads(text)
    return Alias(
        function=function,
        name=name,
        target=AliasTarget(
            version=str(doc["version"]),
            weights={str(k): float(v) for k, v in doc.get("weights", {}).items()},
        ),
        description=str(doc.get("description", "")),
        revision_id=str(doc.get("revision_id", "")),
    )


class AliasRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, alias: Alias) -> bool:
        """Insert ``alias``; False if the function already has an alias of that name."""
        async with self._engine.begin() as conn:
            if await self._get(conn, alias.function, alias.name) is not None:
                return False
            await conn.execute(
                aliases.insert().values(
                    function=alias.function, name=alias.name, config=_dump(alias)
                )
            )
        return True

    async def get(self, function: str, name: str) -> Alias | None:
        async with self._engine.connect() as conn:
            return await self._get(conn, function, name)

    async def list(
        self, function: str, *, after: str | None = None, limit: int = 10_000
    ) -> list[Alias]:
        query = (
            sa.select(aliases.c.name, aliases.c.config)
            .where(aliases.c.function == function)
            .order_by(aliases.c.name)
            .limit(limit)
        )
        if after is not None:
            query = query.where(aliases.c.name > after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_load(function, row.name, row.config) for row in rows]

    async def replace(self, alias: Alias, *, expect_revision: str) -> bool:
        """Overwrite ``alias`` if its stored revision is still ``expect_revision``."""
        async with self._engine.begin() as conn:
            current = await self._get(conn, alias.function, alias.name)
            if current is None or current.revision_id != expect_revision:
                return False
            await conn.execute(
                aliases.update()
                .where(aliases.c.function == alias.function, aliases.c.name == alias.name)
                .values(config=_dump(alias))
            )
        return True

    async def delete(self, function: str, name: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                aliases.delete().where(aliases.c.function == function, aliases.c.name == name)
            )
        return bool(result.rowcount)

    async def _get(self, conn: AsyncConnection, function: str, name: str) -> Alias | None:
        row = (
            await conn.execute(
                sa.select(aliases.c.config).where(
                    aliases.c.function == function, aliases.c.name == name
                )
            )
        ).first()
        return None if row is None else _load(function, name, row.config)
