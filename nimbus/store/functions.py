"""Functions and their versions in the SQL store.

A version's environment variables are sealed (AES-GCM under the node key) before they reach
the ``config`` JSON, bound to the function's name and version, so the database file alone
never yields them and a sealed value copied into another function's row does not open. AWS
encrypts them at rest too (with a KMS key; ``KMSKeyArn`` is recorded, the node key seals).
Rows written before sealing (a plain JSON object) still read, and ``reseal_plaintext`` seals
them once at start.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from nimbus.model.function import LATEST, FunctionConfig, FunctionRecord
from nimbus.store.schema import aliases, function_versions, functions

_MAX_VERSION = 2**63 - 1

log = logging.getLogger(__name__)

# What GetFunctionConfiguration reports (Environment.Error) and Invoke refuses with, in AWS's
# words for a key that cannot decrypt, when the variables were sealed under another node key.
UNOPENABLE = (
    "Lambda was unable to decrypt the environment variables: they were sealed with another "
    "node key. Start Nimbus with the node key this store was written with (NIMBUS_NODE_KEY or "
    "node.key in the data directory), or set the variables again."
)


class Sealer(Protocol):
    """Seals bytes to text and opens them again (``auth.node_key.NodeKey``); ``open`` raises
    for a value it did not seal or one sealed with different associated data."""

    def seal(self, plaintext: bytes, aad: bytes = b"") -> str: ...

    def open(self, sealed: str, aad: bytes = b"") -> bytes: ...


def environment_aad(name: str, version: str) -> bytes:
    """What binds a version's sealed variables to it (pure)."""
    return f"nimbus:function-environment:{name}:{version}".encode()


def _version_number(version: str) -> int:
    return 0 if version == LATEST else int(version)


class FunctionRepository:
    def __init__(self, engine: AsyncEngine, *, sealer: Sealer) -> None:
        self._engine = engine
        self._sealer = sealer

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
        return None if row is None else self._decode(row.config)

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
        return [self._decode(row.config) for row in rows]

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
        return [self._decode(row.config) for row in rows]

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
        return None if row is None else self._decode(row.config)

    async def reseal_plaintext(self) -> int:
        """Seal the variables of every version stored in clear by an older Nimbus; returns
        how many were sealed. One pass at start rather than on each row's next write:
        published versions are immutable and never written again, so only a pass reaches
        them. On SQLite a pass that sealed anything also VACUUMs, so the clear text does not
        survive in the file's free pages."""
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    sa.select(
                        function_versions.c.name,
                        function_versions.c.version,
                        function_versions.c.config,
                    )
                )
            ).all()
            sealed = 0
            for row in rows:
                record = orjson.loads(row.config)
                variables = record.get("environment")
                if not isinstance(variables, dict) or not variables:
                    continue
                record["environment"] = self._seal(row.name, row.version, variables)
                await conn.execute(
                    function_versions.update()
                    .where(
                        function_versions.c.name == row.name,
                        function_versions.c.version == row.version,
                    )
                    .values(config=orjson.dumps(record).decode())
                )
                sealed += 1
        if sealed and self._engine.dialect.name == "sqlite":
            async with self._engine.connect() as conn:
                # On the driver's connection: VACUUM cannot run inside the transaction
                # SQLAlchemy would begin (BEGIN IMMEDIATE, store/database.py).
                driver = (await conn.get_raw_connection()).driver_connection
                assert driver is not None
                await driver.execute("VACUUM")
                await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if sealed:
            log.info("sealed the environment variables of %d stored versions", sealed)
        return sealed

    def _seal(self, name: str, version: str, variables: Mapping[str, str]) -> str:
        return self._sealer.seal(orjson.dumps(dict(variables)), environment_aad(name, version))

    def _decode(self, document: str) -> FunctionConfig:
        record: dict[str, Any] = orjson.loads(document)
        stored = record.get("environment")
        record.pop("environment_error", None)
        if isinstance(stored, str):
            try:
                opened = self._sealer.open(
                    stored, environment_aad(record["name"], record["version"])
                )
                record["environment"] = orjson.loads(opened)
            except Exception:  # the store cannot import auth's SealedValueError (layering)
                record["environment"] = {}
                record["environment_error"] = UNOPENABLE
        return FunctionConfig.from_record(record)

    async def _encode(self, conn: AsyncConnection, config: FunctionConfig) -> str:
        record = config.to_record()
        record.pop("environment_error", None)
        if config.environment_error is not None:
            # Variables this node cannot open stay as they were stored (a key fixed later
            # opens them again) until an update sets new ones (which clears the error).
            record["environment"] = await self._stored_environment(conn, config)
        elif config.environment:
            record["environment"] = self._seal(config.name, config.version, config.environment)
        return orjson.dumps(record).decode()

    async def _stored_environment(self, conn: AsyncConnection, config: FunctionConfig) -> Any:
        for version in (config.version, LATEST):
            row = (
                await conn.execute(
                    sa.select(function_versions.c.config).where(
                        function_versions.c.name == config.name,
                        function_versions.c.version == version,
                    )
                )
            ).first()
            if row is not None:
                return orjson.loads(row.config).get("environment", {})
        return {}

    async def _put_version(self, conn: AsyncConnection, config: FunctionConfig) -> None:
        """Update the row if it exists, insert it otherwise: no read (and no JSON decode) of
        the old configuration just to choose between the two."""
        document = await self._encode(conn, config)
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
