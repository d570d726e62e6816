"""Lambda resource-based policies (AddPermission, PutResourcePolicy) in the SQL store: one
document per function and qualifier ("" for the unqualified function), replaced whole under
a compare-and-set on its revision id."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.store.schema import function_policies as t

UNQUALIFIED = ""


@dataclass(frozen=True, kw_only=True)
class StoredPolicy:
    document: str  # JSON text: {"Version", "Id", "Statement": [...]}
    revision_id: str


def _key(function: str, qualifier: str) -> sa.ColumnElement[bool]:
    return (t.c.function == function) & (t.c.qualifier == qualifier)


class FunctionPolicyRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, function: str, qualifier: str) -> StoredPolicy | None:
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(t.c.policy, t.c.revision_id).where(_key(function, qualifier))
                )
            ).first()
        return (
            None if row is None else StoredPolicy(document=row.policy, revision_id=row.revision_id)
        )

    async def put(
        self, function: str, qualifier: str, policy: StoredPolicy, *, expect: str | None
    ) -> bool:
        """Write ``policy`` if the stored one's revision is still ``expect`` (None: if there is
        none yet). False when another writer got there first."""
        async with self._engine.begin() as conn:
            if expect is None:
                exists = (
                    await conn.execute(sa.select(t.c.revision_id).where(_key(function, qualifier)))
                ).first()
                if exists is not None:
                    return False
                await conn.execute(
                    t.insert().values(
                        function=function,
                        qualifier=qualifier,
                        policy=policy.document,
                        revision_id=policy.revision_id,
                    )
                )
                return True
            result = await conn.execute(
                t.update()
                .where(_key(function, qualifier) & (t.c.revision_id == expect))
                .values(policy=policy.document, revision_id=policy.revision_id)
            )
            return bool(result.rowcount)

    async def delete(self, function: str, qualifier: str, *, expect: str) -> bool:
        """Delete the policy if its revision is still ``expect``."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                t.delete().where(_key(function, qualifier) & (t.c.revision_id == expect))
            )
        return bool(result.rowcount)

    async def qualifiers(self, function: str) -> list[str]:
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(sa.select(t.c.qualifier).where(t.c.function == function))
            ).all()
        return [row.qualifier for row in rows]

    async def delete_all(self, function: str, qualifier: str | None = None) -> None:
        """Forget a deleted function's policies, or (``qualifier``) one deleted version's or
        alias's."""
        condition = t.c.function == function
        if qualifier is not None:
            condition = condition & (t.c.qualifier == qualifier)
        async with self._engine.begin() as conn:
            await conn.execute(t.delete().where(condition))
