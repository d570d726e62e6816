"""Code signing configurations and which function uses which, in the SQL store."""

from __future__ import annotations

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.model.code_signing import CodeSigningConfig
from nimbus.store.schema import code_signing_configs as configs
from nimbus.store.schema import function_code_signing as uses


def _dump(config: CodeSigningConfig) -> str:
    return orjson.dumps(config.to_record()).decode()


class CodeSigningRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def put(self, config: CodeSigningConfig) -> None:
        """Insert or replace a configuration."""
        async with self._engine.begin() as conn:
            updated = await conn.execute(
                configs.update()
                .where(configs.c.id == config.config_id)
                .values(config=_dump(config))
            )
            if updated.rowcount == 0:
                await conn.execute(
                    configs.insert().values(id=config.config_id, config=_dump(config))
                )

    async def get(self, config_id: str) -> CodeSigningConfig | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(sa.select(configs.c.config).where(configs.c.id == config_id))
            ).first()
        return None if row is None else CodeSigningConfig.from_record(orjson.loads(row.config))

    async def list_configs(self, *, after: str | None, limit: int) -> list[CodeSigningConfig]:
        """Configurations in id order, starting after the id ``after``."""
        query = sa.select(configs.c.config).order_by(configs.c.id).limit(limit)
        if after is not None:
            query = query.where(configs.c.id > after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [CodeSigningConfig.from_record(orjson.loads(row.config)) for row in rows]

    async def delete_unused(self, config_id: str) -> bool:
        """Delete a configuration no function uses, atomically; False if one does."""
        async with self._engine.begin() as conn:
            used = await conn.execute(
                sa.select(uses.c.function).where(uses.c.config_id == config_id).limit(1)
            )
            if used.first() is not None:
                return False
            await conn.execute(configs.delete().where(configs.c.id == config_id))
        return True

    async def attach(self, function: str, config_id: str) -> bool:
        """Make ``function`` use ``config_id``; False if the configuration is gone (checked in
        the same transaction, so a concurrent delete cannot leave a dangling use)."""
        async with self._engine.begin() as conn:
            exists = await conn.execute(sa.select(configs.c.id).where(configs.c.id == config_id))
            if exists.first() is None:
                return False
            await conn.execute(uses.delete().where(uses.c.function == function))
            await conn.execute(uses.insert().values(function=function, config_id=config_id))
        return True

    async def detach(self, function: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(uses.delete().where(uses.c.function == function))

    async def config_of(self, function: str) -> str | None:
        """The id of the configuration ``function`` uses, if any."""
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(sa.select(uses.c.config_id).where(uses.c.function == function))
            ).first()
        return None if row is None else str(row.config_id)

    async def functions_using(self, config_id: str, *, after: str | None, limit: int) -> list[str]:
        """Names of the functions that use ``config_id``, in name order after ``after``."""
        query = (
            sa.select(uses.c.function)
            .where(uses.c.config_id == config_id)
            .order_by(uses.c.function)
            .limit(limit)
        )
        if after is not None:
            query = query.where(uses.c.function > after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [str(row.function) for row in rows]
