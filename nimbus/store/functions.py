"""Functions and their versions in the SQL store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from nimbus.model.function import LATEST, FunctionConfig, FunctionRecord
from nimbus.store.schema import aliases, function_versions, functions

_MAX_VERSION = 2**63 - 1


def _version_number(version: str) -> int:
    return 0 if version == LATEST else int(version)


class FunctionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create(self, record: FunctionRecord, latest: FunctionConfig) -> bool:
        """Insert a new function with its $LATEST; False if the name is taken."""
        async with self._engine.begin() as conn:
            exists = await conn.execute(
                sa.select(functions.c.name).where(functions.c.name == record.name)
            )
            if exists.first() is not None:
                return False
            await conn.execute(
                functions.insert().values(
                    name=record.name,
                    tags=orjson.dumps(dict(record.tags)).decode(),
                    created_at=record.created_at,
                    next_version=record.next_version,
                )
            )
            await self._put_version(conn, latest)
        return True

    async def get_record(self, name: str) -> FunctionRecord | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(functions).where(functions.c.name == name))).first()
        if row is None:
            return None
        return FunctionRecord(
            name=row.name,
            tags=orjson.loads(row.tags),
            created_at=row.created_at,
            next_version=row.next_version,
        )

    async def get_version(self, name: str, version: str) -> FunctionConfig | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(function_versions.c.config).where(
                        function_versions.c.name == name, function_versions.c.version == version
                    )
                )
            ).first()
        return None if row is None else FunctionConfig.from_record(orjson.loads(row.config))

    async def list_latest(self, *, after: str | None, limit: int) -> list[FunctionConfig]:
        """$LATEST of each function in name order, starting after ``after``."""
        query = (
            sa.select(function_versions.c.config)
            .where(function_versions.c.version == LATEST)
            .order_by(function_versions.c.name)
            .limit(limit)
        )
        if after is not None:
            query = query.where(function_versions.c.name > after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [FunctionConfig.from_record(orjson.loads(row.config)) for row in rows]

    async def list_versions(
        self, name: str, *, after: int | None = None, limit: int = 10_000
    ) -> list[FunctionConfig]:
        query = (
            sa.select(function_versions.c.config)
            .where(function_versions.c.name == name)
            .order_by(function_versions.c.version_number)
            .limit(limit)
        )
        if after is not None:
            if after >= _MAX_VERSION:
                return []  # nothing can follow the largest number a BIGINT holds
            query = query.where(function_versions.c.version_number > after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [FunctionConfig.from_record(orjson.loads(row.config)) for row in rows]

    async def put_version(
        self, config: FunctionConfig, *, expect_revision: str | None = None
    ) -> bool:
        """Write a version's configuration. With ``expect_revision``, only if the stored
        revision still matches (optimistic concurrency, RevisionId on the wire)."""
        async with self._engine.begin() as conn:
            if expect_revision is not None:
                current = await self._get(conn, config.name, config.version)
                if current is None or current.revision_id != expect_revision:
                    return False
            await self._put_version(conn, config)
        return True

    async def publish(self, config: FunctionConfig) -> FunctionConfig:
        """Allocate the next version number and store ``config`` under it, atomically."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(functions.c.next_version).where(functions.c.name == config.name)
                )
            ).one()
            number = int(row.next_version)
            await conn.execute(
                functions.update()
                .where(functions.c.name == config.name)
                .values(next_version=number + 1)
            )
            published = config.replace(version=str(number))
            await self._put_version(conn, published)
        return published

    async def set_tags(self, name: str, tags: Mapping[str, str]) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                functions.update()
                .where(functions.c.name == name)
                .values(tags=orjson.dumps(dict(tags)).decode())
            )

    async def delete(self, name: str) -> None:
        """Delete the function with all its versions and aliases, atomically."""
        async with self._engine.begin() as conn:
            await conn.execute(aliases.delete().where(aliases.c.function == name))
            await conn.execute(function_versions.delete().where(function_versions.c.name == name))
            await conn.execute(functions.delete().where(functions.c.name == name))

    async def delete_version(self, name: str, version: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                function_versions.delete().where(
                    function_versions.c.name == name, function_versions.c.version == version
                )
            )

    async def totals(self) -> tuple[int, int]:
        """(function count, total code size in bytes) for GetAccountSettings."""
        async with self._engine.connect() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(functions))).scalar()
            rows = (await conn.execute(sa.select(function_versions.c.config))).all()
        total = sum(int(orjson.loads(row.config)["code_size"]) for row in rows)
        return int(count or 0), total

    async def all_latest_names(self) -> Sequence[str]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(functions.c.name))).all()
        return [row.name for row in rows]

    async def _get(self, conn: AsyncConnection, name: str, version: str) -> FunctionConfig | None:
        row = (
            await conn.execute(
                sa.select(function_versions.c.config).where(
                    function_versions.c.name == name, function_versions.c.version == version
                )
            )
        ).first()
        return None if row is None else FunctionConfig.from_record(orjson.loads(row.config))

    async def _put_version(self, conn: AsyncConnection, config: FunctionConfig) -> None:
        """Update the row if it exists, insert it otherwise: no read (and no JSON decode) of
        the old configuration just to choose between the two."""
        document = orjson.dumps(config.to_record()).decode()
        updated = await conn.execute(
            function_versions.update()
            .where(
                function_versions.c.name == config.name,
                function_versions.c.version == config.version,
            )
            .values(config=document)
        )
        if updated.rowcount == 0:
            await conn.execute(
                function_versions.insert().values(
                    name=config.name,
                    version=config.version,
                    version_number=_version_number(config.version),
                    config=document,
                )
            )
