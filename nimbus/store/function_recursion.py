"""Each function's recursive loop detection setting (PutFunctionRecursionConfig) in the SQL
store; a function without a row has AWS's default, Terminate."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.store.schema import function_recursion as t


class FunctionRecursionRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, function: str) -> str | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(sa.select(t.c.recursive_loop).where(t.c.function == function))
            ).first()
        return None if row is None else str(row.recursive_loop)

    async def put(self, function: str, recursive_loop: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(t.delete().where(t.c.function == function))
            await conn.execute(t.insert().values(function=function, recursive_loop=recursive_loop))

    async def delete(self, function: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(t.delete().where(t.c.function == function))
