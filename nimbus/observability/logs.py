"""Function logs, as CloudWatch Logs keeps them: log groups (/aws/lambda/NAME) of streams of
events. Writers never wait for the database: events are buffered and flushed in batches."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.model.invocation import LogEvent
from nimbus.store.schema import log_events

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.1
# Beyond either, drop the oldest rather than grow without bound: events are up to 256 KB
# each, so a count alone would let the buffer hold gigabytes while the database is slow.
MAX_BUFFER = 100_000
MAX_BUFFER_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, kw_only=True)
class StoredLogEvent:
    id: int
    group: str
    stream: str
    timestamp_ms: int
    message: str


class LogStore:
    """Implements the worker's ``LogSink`` and answers log queries."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._buffer: list[LogEvent] = []
        self._buffered_bytes = 0  # characters of the buffered messages
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._flush_forever())

    def emit(self, events: Sequence[LogEvent]) -> None:
        self._buffer.extend(events)
        self._buffered_bytes += sum(len(e.message) for e in events)
        if len(self._buffer) > MAX_BUFFER or self._buffered_bytes > MAX_BUFFER_BYTES:
            self._drop_oldest()
        self._wake.set()

    def _drop_oldest(self) -> None:
        dropped = max(0, len(self._buffer) - MAX_BUFFER)
        excess = self._buffered_bytes - MAX_BUFFER_BYTES
        freed = sum(len(e.message) for e in self._buffer[:dropped])
        while freed < excess and dropped < len(self._buffer):
            freed += len(self._buffer[dropped].message)
            dropped += 1
        del self._buffer[:dropped]
        self._buffered_bytes -= freed
        log.warning("log buffer full: dropped %d events", dropped)

    async def flush(self) -> None:
        if not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        self._buffered_bytes = 0
        rows = [(e.group, e.stream, e.timestamp_ms, e.message) for e in batch]
        async with self._engine.begin() as conn:
            await conn.run_sync(_insert_rows, rows)

    async def query(
        self,
        group: str,
        *,
        after_id: int = 0,
        start_ms: int | None = None,
        stream: str | None = None,
        contains: str | None = None,
        limit: int = 1000,
    ) -> list[StoredLogEvent]:
        await self.flush()
        query = (
            sa.select(log_events)
            .where(log_events.c.log_group == group, log_events.c.id > after_id)
            .order_by(log_events.c.id)
            .limit(limit)
        )
        if start_ms is not None:
            query = query.where(log_events.c.timestamp_ms >= start_ms)
        if stream is not None:
            query = query.where(log_events.c.log_stream == stream)
        if contains:
            query = query.where(log_events.c.message.contains(contains, autoescape=True))
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            StoredLogEvent(
                id=row.id,
                group=row.log_group,
                stream=row.log_stream,
                timestamp_ms=row.timestamp_ms,
                message=row.message,
            )
            for row in rows
        ]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def _flush_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(FLUSH_INTERVAL_S)
            try:
                await self.flush()
            except Exception:  # a failed flush must not stop logging for good
                log.exception("writing log events failed")


def _insert_rows(conn: Connection, rows: list[tuple[str, str, int, str]]) -> None:
    """Thousands of rows a second under load: hand plain tuples to the DB-API's
    ``executemany`` rather than building a parameter dict per row."""
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        markers = {
            "qmark": ("?", "?", "?", "?"),
            "numeric_dollar": ("$1", "$2", "$3", "$4"),
        }.get(conn.dialect.paramstyle, ("%s", "%s", "%s", "%s"))
        cursor.executemany(
            "INSERT INTO log_events (log_group, log_stream, timestamp_ms, message) "
            f"VALUES ({', '.join(markers)})",
            rows,
        )
    finally:
        cursor.close()
