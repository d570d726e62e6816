"""Reserved concurrency: persisted in the store, enforced by the Counting Service."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.control.functions import FunctionService
from nimbus.dataplane.counting import Counting
from nimbus.errors import InvalidParameterValueError
from nimbus.store.schema import function_concurrency


class ConcurrencyService:
    def __init__(
        self, *, engine: AsyncEngine, functions: FunctionService, counting: Counting
    ) -> None:
        self._engine = engine
        self._functions = functions
        self._counting = counting

    async def load(self) -> None:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(function_concurrency))).all()
        for row in rows:
            self._counting.set_reservation(row.name, int(row.reserved))

    async def put(self, name: str, reserved: int) -> int:
        await self._functions.get_version(name)  # 404 for an unknown function
        problem = self._counting.check_reservation(name, reserved)
        if problem is not None:
            raise InvalidParameterValueError(problem)
        async with self._engine.begin() as conn:
            await conn.execute(
                function_concurrency.delete().where(function_concurrency.c.name == name)
            )
            await conn.execute(function_concurrency.insert().values(name=name, reserved=reserved))
        self._counting.set_reservation(name, reserved)
        return reserved

    async def get(self, name: str) -> int | None:
        await self._functions.get_version(name)
        return self._counting.reserved(name)

    async def delete(self, name: str) -> None:
        await self._functions.get_version(name)
        await self.forget(name)

    async def forget(self, name: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                function_concurrency.delete().where(function_concurrency.c.name == name)
            )
        self._counting.set_reservation(name, None)
