"""Bringing the store's schema to head at start-up, with Alembic driven from code.

`migrate` runs inside `open_engine`, before anything else touches the store. It works on one
connection in one transaction: inspect, maybe stamp a pre-Alembic store, upgrade. SQLite's DDL
is transactional and so is PostgreSQL's, so a failed revision leaves the store as it was.

Two nodes starting on one PostgreSQL database would otherwise both see "at 0001" and both run
0002; a transaction-scoped advisory lock makes the second wait, then find the store at head.
On SQLite the engine's ``BEGIN IMMEDIATE`` already serialises writers on the file.
"""

from __future__ import annotations

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.store.migrations.plan import (
    LEGACY_MARKER_KEY,
    LEGACY_MARKER_TABLE,
    StoreSchemaError,
    StoreState,
    plan,
)
from nimbus.store.schema import metadata

log = logging.getLogger(__name__)
# Alembic announces its dialect impl and "non-transactional DDL" (untrue here: we hold the
# transaction) at every start; our own two lines say what was stamped and upgraded.
logging.getLogger("alembic").setLevel(logging.WARNING)

SCRIPT_LOCATION = Path(__file__).parent
# Any fixed 64-bit key will do; every Nimbus node must use the same one ("nimbus" in ASCII).
PG_MIGRATION_LOCK = int.from_bytes(b"nimbus", "big")


def alembic_config(
    connection: Connection | None = None, *, script_location: Path = SCRIPT_LOCATION
) -> Config:
    """The Alembic configuration, built in code: no alembic.ini ships or is read."""
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations package has no revisions"
    return head


async def migrate(engine: AsyncEngine, *, script_location: Path = SCRIPT_LOCATION) -> str:
    """Bring the store to the head revision and return it. Raises StoreSchemaError (nothing
    changed) for a store this code cannot upgrade, or whose revisions break a foreign key; a
    failing revision's error propagates and its transaction rolls back. ``script_location``
    is for tests with revisions of their own."""
    async with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite's batch ALTER copies a table, drops the original and renames the copy;
            # with foreign keys enforced, dropping `functions` or `layers` fails while rows
            # reference them. The pragma is ignored inside a transaction, so it is switched
            # off before ours begins and the keys are checked before it commits.
            await conn.run_sync(_sqlite_pragma, "foreign_keys=OFF")
        try:
            async with conn.begin():
                if conn.dialect.name == "postgresql":
                    await conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"),
                        {"key": PG_MIGRATION_LOCK},
                    )
                head = await conn.run_sync(migrate_connection, script_location=script_location)
                if sqlite:
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                    if broken:
                        raise StoreSchemaError(f"the upgrade broke foreign keys: {broken[:5]}")
        finally:
            if sqlite:
                await conn.run_sync(_sqlite_pragma, "foreign_keys=ON")
    return head


def _sqlite_pragma(connection: Connection, pragma: str) -> None:
    # On the driver connection, not through SQLAlchemy: an execute would begin a transaction
    # (the engine's BEGIN IMMEDIATE hook), inside which SQLite ignores this pragma.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()


def migrate_connection(connection: Connection, *, script_location: Path = SCRIPT_LOCATION) -> str:
    """`migrate` on a sync connection already in a transaction (the caller commits it)."""
    config = alembic_config(connection, script_location=script_location)
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    assert head is not None, "the migrations package has no revisions"
    state = read_state(connection)
    decision = plan(
        state,
        known_revisions={rev.revision for rev in script.walk_revisions()},
        own_tables=set(metadata.tables) | {LEGACY_MARKER_TABLE},
    )
    if decision.stamp is not None:
        log.info("store written before schema revisions: stamping it at %s", decision.stamp)
        command.stamp(config, decision.stamp)
    start = state.revision or decision.stamp
    if start != head:
        command.upgrade(config, "head")
        log.info("store schema upgraded from %s to %s", start or "nothing", head)
    return head


def read_state(connection: Connection) -> StoreState:
    tables = frozenset(sa.inspect(connection).get_table_names())
    marker: str | None = None
    if LEGACY_MARKER_TABLE in tables:
        meta = sa.table(LEGACY_MARKER_TABLE, sa.column("key"), sa.column("value"))
        marker = connection.execute(
            sa.select(meta.c.value).where(meta.c.key == LEGACY_MARKER_KEY)
        ).scalar()
    revision = MigrationContext.configure(connection).get_current_revision()
    return StoreState(tables=tables, revision=revision, legacy_marker=marker)
