"""The revisions on PostgreSQL: a new store, a second start, two nodes at once, an old store.

Each test gets a database of its own (created and dropped here), so nothing it does touches
the ``test`` database other tests may use. Skipped when no server answers on 127.0.0.1:5432.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from nimbus.store.database import open_engine
from nimbus.store.migrations.migrator import alembic_config, head_revision
from nimbus.store.schema import metadata

ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


async def _admin() -> AsyncEngine:
    engine = create_async_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await asyncio.wait_for(conn.execute(sa.text("SELECT 1")), timeout=5)
    except (TimeoutError, OSError, sa.exc.DBAPIError) as exc:
        await engine.dispose()
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 (database test, user postgres): {exc!r}")
    return engine


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """The URL of a new, empty database; dropped afterwards."""
    admin = await _admin()
    name = f"nimbus_migrate_{uuid.uuid4().hex[:12]}"
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def _diffs(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def _revision(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
        return [str(r[0]) for r in rows]


async def test_a_new_store_is_migrated_to_exactly_the_model(pg_url: str) -> None:
    engine = await open_engine(pg_url)
    try:
        assert await _revision(engine) == [head_revision()]
        async with engine.connect() as conn:
            assert await conn.run_sync(_diffs) == []
    finally:
        await engine.dispose()


async def test_migrating_twice_is_a_no_op(pg_url: str) -> None:
    engine = await open_engine(pg_url)
    async with engine.begin() as conn:
        await conn.execute(sa.text("INSERT INTO layers (name, next_version) VALUES ('kept', 4)"))
    await engine.dispose()
    engine = await open_engine(pg_url)
    try:
        assert await _revision(engine) == [head_revision()]
        async with engine.connect() as conn:
            rows = (await conn.execute(sa.text("SELECT name, next_version FROM layers"))).all()
        assert [tuple(r) for r in rows] == [("kept", 4)]
    finally:
        await engine.dispose()


async def test_two_nodes_starting_at_once_migrate_once(pg_url: str) -> None:
    # Without the advisory lock both would CREATE TABLE and the second would fail on a
    # duplicate catalog row.
    engines = await asyncio.gather(*(open_engine(pg_url) for _ in range(3)))
    try:
        assert await _revision(engines[0]) == [head_revision()]
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_pre_alembic_store_is_stamped_and_upgraded(pg_url: str) -> None:
    # Lay out what the old create_all made (revision 0001 is exactly that), then take away
    # the revision row and leave the old marker: a store as the pre-Alembic code left it.
    engine = create_async_engine(pg_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0001"))
        await conn.execute(sa.text("DROP TABLE alembic_version"))
        await conn.execute(sa.text("INSERT INTO nimbus_meta VALUES ('schema', '1')"))
        await conn.execute(sa.text("INSERT INTO functions VALUES ('fn', '{\"a\": \"b\"}', 1.5, 2)"))
    await engine.dispose()
    engine = await open_engine(pg_url)
    try:
        assert await _revision(engine) == [head_revision()]
        async with engine.connect() as conn:
            assert await conn.run_sync(_diffs) == []
            rows = (await conn.execute(sa.text("SELECT * FROM functions"))).all()
        assert [tuple(r) for r in rows] == [("fn", '{"a": "b"}', 1.5, 2)]
    finally:
        await engine.dispose()
