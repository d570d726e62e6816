"""Group commit: many callers' writes in one transaction, each caller resumed after the
commit that made its write durable.

The hot paths that must not lose an acknowledged write (a 202 for an async invoke, an SQS
SendMessage) would otherwise pay one transaction each; SQLite has one writer, so that caps
them at a few hundred per second. Here the writes that arrive while a transaction is being
committed wait for the next one, so batches grow with load and an idle node commits at once.
Consecutive writes of the same statement run as one ``executemany``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql import Executable

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class Write:
    statement: Executable  # reuse one statement object per kind so runs batch together
    params: Mapping[str, Any]


class GroupCommit:
    def __init__(self, engine: AsyncEngine, *, max_batch: int = 2000) -> None:
        self._engine = engine
        self._max_batch = max_batch
        self._pending: deque[tuple[list[Write], asyncio.Future[None]]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._conn: AsyncConnection | None = None
        self._closed = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="group-commit")

    async def write(self, *writes: Write) -> None:
        """Return once ``writes`` are committed (all in the same transaction)."""
        if not writes:
            return
        if self._closed:
            raise RuntimeError("the store is closing")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((list(writes), future))
        self._wake.set()
        await future

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        # A connection of its own for the committer's lifetime: checking one out of the pool
        # and resetting it on return cost a hop to the driver's thread each, and under load
        # every hop waits for a turn of the event loop (measured: 4 ms per commit).
        self._conn = await self._engine.connect()
        try:
            await self._loop()
        finally:
            await self._conn.close()

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                # Let the callers that are already runnable add their writes to this batch.
                await asyncio.sleep(0)
                batch, size = [], 0
                while self._pending and size < self._max_batch:
                    item = self._pending.popleft()
                    batch.append(item)
                    size += len(item[0])
                await self._commit(batch)
            if self._closed:
                return

    async def _commit(self, batch: list[tuple[list[Write], asyncio.Future[None]]]) -> None:
        runs: list[tuple[Executable, list[Mapping[str, Any]]]] = []
        for writes, _future in batch:
            for write in writes:
                if runs and runs[-1][0] is write.statement:
                    runs[-1][1].append(write.params)
                else:
                    runs.append((write.statement, [write.params]))
        assert self._conn is not None
        try:
            # BEGIN, the statements and COMMIT in one hop to the driver's thread.
            await self._conn.run_sync(_transaction, runs)
        except Exception as exc:
            log.exception("group commit of %d writes failed", sum(len(w) for w, _ in batch))
            for _writes, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for _writes, future in batch:
            if not future.done():
                future.set_result(None)


def _transaction(conn: Connection, runs: list[tuple[Executable, list[Mapping[str, Any]]]]) -> None:
    with conn.begin():
        for statement, params in runs:
            conn.execute(statement, params if len(params) > 1 else params[0])
