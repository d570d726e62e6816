"""Opening the store: an async SQLAlchemy engine over aiosqlite (default) or asyncpg, its
schema brought to the head revision before the engine is handed out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from nimbus.store.migrations.migrator import migrate


def database_url(store: str, data_dir: Path) -> str:
    """``sqlite`` (the default) means a file under the data directory; a
    ``postgresql://`` URL selects asyncpg."""
    if store in ("", "sqlite"):
        return f"sqlite+aiosqlite:///{data_dir / 'nimbus.db'}"
    if store.startswith("postgresql://") or store.startswith("postgres://"):
        return "postgresql+asyncpg://" + store.split("://", 1)[1]
    return store


async def open_engine(url: str) -> AsyncEngine:
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # One writer at a time is SQLite's rule: one pooled connection serialises this
        # process's transactions (the group committer has its own, see group_commit.py).
        kwargs["pool_size"] = 1
        kwargs["max_overflow"] = 0
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @sa.event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            # WAL + synchronous=NORMAL survives a kill -9 of the server (the WAL is in the
            # OS page cache once the commit returns); FULL would also survive power loss.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
            # Transactions are begun by the "begin" hook below, not by the driver.
            dbapi_conn.isolation_level = None

        @sa.event.listens_for(engine.sync_engine, "begin")
        def _begin_immediate(conn: Any) -> None:
            # Take the write lock up front. A deferred transaction that reads, then writes
            # after another connection (the group committer) committed, fails at once with
            # SQLITE_BUSY_SNAPSHOT instead of waiting; an immediate one waits its turn.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    return engine
