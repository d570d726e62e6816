"""The durable async event queue in the SQL store.

Writes that acknowledge something (accept, reschedule, delete) are handed out as
``GroupCommit`` writes, so the caller decides which writes share a transaction. Claims run
their own transaction: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL lets nodes claim disjoint
rows concurrently; SQLite has one writer, so a plain transaction is already exclusive.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.model.async_event import AsyncEvent
from nimbus.store.group_commit import Write
from nimbus.store.schema import async_events as t

_INSERT = t.insert()
_DELETE = t.delete().where(t.c.id == sa.bindparam("p_id"))
_RESCHEDULE = (
    t.update()
    .where(t.c.id == sa.bindparam("p_id"))
    .values(
        next_attempt_at=sa.bindparam("p_next"),
        function_errors=sa.bindparam("p_errors"),
        backoffs=sa.bindparam("p_backoffs"),
        invokes=sa.bindparam("p_invokes"),
        last_response=sa.bindparam("p_last"),
        claimed_by=None,
        claim_expires_at=0.0,
    )
)


def _event(row: sa.Row[tuple[object, ...]]) -> AsyncEvent:
    m = row._mapping
    return AsyncEvent(
        id=m["id"],
        function=m["function"],
        qualifier=m["qualifier"],
        payload=bytes(m["payload"]),
        client_context=m["client_context"],
        enqueued_at=m["enqueued_at"],
        next_attempt_at=m["next_attempt_at"],
        function_errors=m["function_errors"],
        backoffs=m["backoffs"],
        invokes=m["invokes"],
        last_response=m["last_response"],
        trace_header=m["trace_header"],
    )


class AsyncEventRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._postgres = engine.dialect.name == "postgresql"

    @staticmethod
    def insert(event: AsyncEvent, *, claimed_by: str | None, claim_expires_at: float) -> Write:
        return Write(
            statement=_INSERT,
            params={
                "id": event.id,
                "function": event.function,
                "qualifier": event.qualifier,
                "payload": event.payload,
                "client_context": event.client_context,
                "enqueued_at": event.enqueued_at,
                "next_attempt_at": event.next_attempt_at,
                "function_errors": event.function_errors,
                "backoffs": event.backoffs,
                "invokes": event.invokes,
                "claimed_by": claimed_by,
                "claim_expires_at": claim_expires_at,
                "last_response": event.last_response,
                "trace_header": event.trace_header,
            },
        )

    @staticmethod
    def reschedule(event: AsyncEvent) -> Write:
        """Store the event's new counters and release it until ``next_attempt_at``."""
        return Write(
            statement=_RESCHEDULE,
            params={
                "p_id": event.id,
                "p_next": event.next_attempt_at,
                "p_errors": event.function_errors,
                "p_backoffs": event.backoffs,
                "p_invokes": event.invokes,
                "p_last": event.last_response,
            },
        )

    @staticmethod
    def delete(event_id: str) -> Write:
        return Write(statement=_DELETE, params={"p_id": event_id})

    async def claim(self, *, node: str, now: float, lease_s: float, limit: int) -> list[AsyncEvent]:
        """Claim up to ``limit`` due, unclaimed (or expired-claim) events for ``node``."""
        if limit <= 0:
            return []
        query = (
            sa.select(t)
            .where(t.c.next_attempt_at <= now, t.c.claim_expires_at <= now)
            .order_by(t.c.next_attempt_at)
            .limit(limit)
        )
        if self._postgres:
            query = query.with_for_update(skip_locked=True)
        async with self._engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            if not rows:
                return []
            ids = [row.id for row in rows]
            await conn.execute(
                t.update()
                .where(t.c.id.in_(ids))
                .values(claimed_by=node, claim_expires_at=now + lease_s)
            )
        return [_event(row) for row in rows]

    async def next_due(self) -> float | None:
        """When the earliest event becomes due (claimed or not)."""
        async with self._engine.connect() as conn:
            value = (await conn.execute(sa.select(sa.func.min(t.c.next_attempt_at)))).scalar()
        return None if value is None else float(value)

    async def release_all(self) -> int:
        """Release every claim. Only for a single node (SQLite) starting up: whoever held
        them was this node's previous process, which is gone."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                t.update()
                .where(t.c.claimed_by.is_not(None))
                .values(claimed_by=None, claim_expires_at=0.0)
            )
        return int(result.rowcount or 0)

    async def count(self) -> int:
        async with self._engine.connect() as conn:
            return int(
                (await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar() or 0
            )
