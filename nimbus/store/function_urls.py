"""Function URL configurations in the SQL store: one row per function ("" qualifier) or
alias, found by (function, qualifier) for the Lambda API and by url id for requests."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.store.schema import function_urls as t


@dataclass(frozen=True, kw_only=True)
class StoredUrl:
    function: str
    qualifier: str  # "" or an alias
    url_id: str
    config: str  # JSON


def _row(row: sa.Row[tuple[str, str, str, str]]) -> StoredUrl:
    return StoredUrl(
        function=row.function, qualifier=row.qualifier, url_id=row.url_id, config=row.config
    )


class FunctionUrlRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, function: str, qualifier: str) -> StoredUrl | None:
        query = sa.select(t).where(t.c.function == function, t.c.qualifier == qualifier)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _row(row)

    async def by_url_id(self, url_id: str) -> StoredUrl | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.url_id == url_id))).first()
        return None if row is None else _row(row)

    async def insert(self, stored: StoredUrl) -> bool:
        """False when the function or alias already has a URL."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(
                    t.insert().values(
                        function=stored.function,
                        qualifier=stored.qualifier,
                        url_id=stored.url_id,
                        config=stored.config,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def update(self, function: str, qualifier: str, config: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                t.update()
                .where(t.c.function == function, t.c.qualifier == qualifier)
                .values(config=config)
            )
        return bool(result.rowcount)

    async def delete(self, function: str, qualifier: str | None = None) -> list[str]:
        """Delete one URL (or, with ``qualifier`` None, all of the function's); returns the
        url ids deleted."""
        where = [t.c.function == function]
        if qualifier is not None:
            where.append(t.c.qualifier == qualifier)
        async with self._engine.begin() as conn:
            ids = [row.url_id for row in await conn.execute(sa.select(t.c.url_id).where(*where))]
            await conn.execute(t.delete().where(*where))
        return ids

    async def list(self, function: str, *, after: str | None, limit: int) -> list[StoredUrl]:
        """The function's URLs in qualifier order, those after ``after`` (None: all)."""
        where = [t.c.function == function]
        if after is not None:
            where.append(t.c.qualifier > after)
        query = sa.select(t).where(*where).order_by(t.c.qualifier).limit(limit)
        async with self._engine.connect() as conn:
            return [_row(row) for row in await conn.execute(query)]
