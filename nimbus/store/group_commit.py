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
import sqlite3
from collections import deque
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects import sqlite as sqlite_dialect
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
        self._sqlite: _SqliteBatches | None = None
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
        if self._engine.url.drivername.startswith("sqlite"):
            self._sqlite = _SqliteBatches(str(self._engine.url.database))
            await self._sqlite.open()
        else:
            self._conn = await self._engine.connect()
        try:
            await self._loop()
        finally:
            if self._sqlite is not None:
                await self._sqlite.close()
            if self._conn is not None:
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
        try:
            if self._sqlite is not None:
                await self._sqlite.run(runs)
            else:
                assert self._conn is not None
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


Runs = list[tuple[Executable, list[Mapping[str, Any]]]]


class _SqliteBatches:
    """SQLite: a whole batch — BEGIN, one ``executemany`` per statement, COMMIT — in a
    single call on a dedicated thread with its own ``sqlite3`` connection. Through
    aiosqlite every statement, the BEGIN and the COMMIT were each a round trip between
    threads, and under load each waited for a turn of the event loop. Statements are compiled
    once by SQLAlchemy's SQLite dialect; the columns here need no type conversion."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="group-commit")
        self._db: sqlite3.Connection | None = None
        self._dialect = sqlite_dialect.dialect(paramstyle="qmark")
        # Keyed by the statement's id; the entry holds the statement itself too, so that id
        # cannot be reused by another object while it is cached.
        self._compiled: dict[
            tuple[int, tuple[str, ...]],
            tuple[Executable, str, tuple[str, ...], dict[str, Any]],
        ] = {}

    async def open(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._connect)

    async def run(self, runs: Runs) -> None:
        await asyncio.get_running_loop().run_in_executor(self._executor, self._transaction, runs)

    async def close(self) -> None:
        if self._db is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._db.close)
        self._executor.shutdown(wait=False)

    def _connect(self) -> None:
        # Same durability as the engine's connections (database.py): WAL, synchronous=NORMAL.
        db = sqlite3.connect(self._path, timeout=5.0, check_same_thread=False)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        self._db = db

    def _transaction(self, runs: Runs) -> None:
        assert self._db is not None
        with self._db:  # commits, or rolls back on an exception
            for statement, params in runs:
                # Rows of one statement may set different columns (an insert may leave some
                # to their defaults): one executemany per run of rows with the same keys.
                start = 0
                while start < len(params):
                    keys = params[start].keys()
                    end = start + 1
                    while end < len(params) and params[end].keys() == keys:
                        end += 1
                    sql, order, fixed = self._compile(statement, params[start])
                    self._db.executemany(
                        sql,
                        [
                            tuple(row[key] if key in row else fixed[key] for key in order)
                            for row in params[start:end]
                        ],
                    )
                    start = end

    def _compile(
        self, statement: Executable, sample: Mapping[str, Any]
    ) -> tuple[str, tuple[str, ...], dict[str, Any]]:
        """(SQL, the bind names in positional order, values of the binds the statement
        fixes itself — e.g. ``.values(claimed_by=None)``)."""
        keys = tuple(sorted(sample))
        cached = self._compiled.get((id(statement), keys))
        if cached is None:
            compiled = statement.compile(  # type: ignore[attr-defined]
                dialect=self._dialect, column_keys=list(keys)
            )
            fixed = {
                name: bind.effective_value
                for name, bind in compiled.binds.items()
                if name not in sample
            }
            cached = (statement, compiled.string, tuple(compiled.positiontup or ()), fixed)
            self._compiled[(id(statement), keys)] = cached
        return cached[1], cached[2], cached[3]
