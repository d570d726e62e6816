"""Layers and their versions in the SQL store. Deleting a version only marks it: functions
that already use it keep running it, and its number is never handed out again."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.model.layer import LayerPolicy, LayerStatement, LayerVersion
from nimbus.store.schema import layer_versions, layers

# A version number a BIGINT column cannot hold is a version that does not exist: answering so
# keeps callers that parsed a layer ARN's digits from reaching the driver's OverflowError.
_STORABLE = range(1, 2**63)


def _dump(version: LayerVersion) -> str:
    record = dataclasses.asdict(version)
    del record["deleted"]
    return orjson.dumps(record).decode()


def _load(text: str, deleted: bool) -> LayerVersion:
    record: dict[str, Any] = orjson.loads(text)
    known = {f.name for f in dataclasses.fields(LayerVersion)}
    values = {k: v for k, v in record.items() if k in known}
    values["compatible_runtimes"] = tuple(values.get("compatible_runtimes", ()))
    values["compatible_architectures"] = tuple(values.get("compatible_architectures", ()))
    values["deleted"] = bool(deleted)
    return LayerVersion(**values)


def _dump_policy(policy: LayerPolicy) -> str:
    return orjson.dumps(dataclasses.asdict(policy)).decode()


def _load_policy(text: str | None) -> LayerPolicy:
    if not text:
        return LayerPolicy()
    record: dict[str, Any] = orjson.loads(text)
    return LayerPolicy(
        statements=tuple(LayerStatement(**s) for s in record.get("statements", ())),
        revision_id=str(record.get("revision_id", "")),
    )


class LayerRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def publish(self, name: str, build: Callable[[int], LayerVersion]) -> LayerVersion:
        """Allocate the layer's next version number and store ``build(number)``, atomically."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(sa.select(layers.c.next_version).where(layers.c.name == name))
            ).first()
            if row is None:
                number = 1
                await conn.execute(layers.insert().values(name=name, next_version=2))
            else:
                number = int(row.next_version)
                await conn.execute(
                    layers.update().where(layers.c.name == name).values(next_version=number + 1)
                )
            version = build(number)
            await conn.execute(
                layer_versions.insert().values(
                    name=name, version=number, config=_dump(version), deleted=False
                )
            )
        return version

    async def get(
        self, name: str, version: int, *, include_deleted: bool = False
    ) -> LayerVersion | None:
        if version not in _STORABLE:
            return None
        query = sa.select(layer_versions.c.config, layer_versions.c.deleted).where(
            layer_versions.c.name == name, layer_versions.c.version == version
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None or (row.deleted and not include_deleted):
            return None
        return _load(row.config, row.deleted)

    async def versions(self, name: str) -> list[LayerVersion]:
        """The live versions of one layer, newest first."""
        query = (
            sa.select(layer_versions.c.config, layer_versions.c.deleted)
            .where(layer_versions.c.name == name, sa.not_(layer_versions.c.deleted))
            .order_by(layer_versions.c.version.desc())
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_load(row.config, row.deleted) for row in rows]

    async def all_live(self) -> list[LayerVersion]:
        """Every live version of every layer, by name then newest first."""
        query = (
            sa.select(layer_versions.c.config, layer_versions.c.deleted)
            .where(sa.not_(layer_versions.c.deleted))
            .order_by(layer_versions.c.name, layer_versions.c.version.desc())
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_load(row.config, row.deleted) for row in rows]

    async def mark_deleted(self, name: str, version: int) -> None:
        if version not in _STORABLE:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                layer_versions.update()
                .where(layer_versions.c.name == name, layer_versions.c.version == version)
                .values(deleted=True, policy=None)
            )

    async def get_policy(self, name: str, version: int) -> LayerPolicy:
        if version not in _STORABLE:
            return LayerPolicy()
        query = sa.select(layer_versions.c.policy).where(
            layer_versions.c.name == name, layer_versions.c.version == version
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _load_policy(None if row is None else row.policy)

    async def put_policy(
        self, name: str, version: int, policy: LayerPolicy, *, expect_revision: str
    ) -> bool:
        """Replace the policy if its stored revision is still ``expect_revision``."""
        async with self._engine.begin() as conn:
            row = (
                await conn.execute(
                    sa.select(layer_versions.c.policy).where(
                        layer_versions.c.name == name, layer_versions.c.version == version
                    )
                )
            ).first()
            if row is None or _load_policy(row.policy).revision_id != expect_revision:
                return False
            await conn.execute(
                layer_versions.update()
                .where(layer_versions.c.name == name, layer_versions.c.version == version)
                .values(policy=_dump_policy(policy))
            )
        return True
