"""The revisions against the model and against a store the pre-Alembic code wrote (SQLite).

tests/fixtures/schema_v1/nimbus.db was written by a real server at commit a9a6dc1 (see
tests/fixtures/make_schema_v1.py); the end-to-end check of its contents is in
tests/integration/store/test_upgrade_v1.py.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

from nimbus.store.database import open_engine
from nimbus.store.migrations.migrator import SCRIPT_LOCATION, head_revision, migrate
from nimbus.store.migrations.plan import StoreSchemaError
from nimbus.store.schema import metadata

V1_DB = Path(__file__).parents[2] / "fixtures" / "schema_v1" / "nimbus.db"


def _diffs(connection: Connection) -> list[Any]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


def _revision(path: Path) -> str:
    with sqlite3.connect(path) as db:
        [(revision,)] = db.execute("SELECT version_num FROM alembic_version").fetchall()
    return str(revision)


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


def _columns(path: Path) -> dict[str, list[str]]:
    """The columns of every model table the store at ``path`` has."""
    with sqlite3.connect(path) as db:
        present = {name for (name,) in db.execute("SELECT name FROM sqlite_master")}
        return {
            name: [row[1] for row in db.execute(f'PRAGMA table_info("{name}")')]
            for name in metadata.tables
            if name in present
        }


def _rows(
    path: Path, columns: dict[str, list[str]] | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every model table, ordered, to compare before and after an upgrade; with
    ``columns`` (an older store's), only those tables and columns, so that tables and columns
    later revisions add do not count as changes to what was kept."""
    columns = columns if columns is not None else _columns(path)
    with sqlite3.connect(path) as db:
        return {
            name: sorted(db.execute(f'SELECT {", ".join(cols)} FROM "{name}"').fetchall(), key=repr)
            for name, cols in columns.items()
        }


async def _open_and_close(path: Path) -> list[Any]:
    """open_engine on ``path`` (which migrates it), then the model-vs-database diff."""
    engine = await open_engine(f"sqlite+aiosqlite:///{path}")
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diffs)
    finally:
        await engine.dispose()


async def test_a_new_store_is_migrated_to_exactly_the_model(tmp_path: Path) -> None:
    db = tmp_path / "nimbus.db"
    assert await _open_and_close(db) == []
    assert _revision(db) == head_revision()
    assert _tables(db) == set(metadata.tables) | {"alembic_version"}


async def test_opening_a_migrated_store_again_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "nimbus.db"
    await _open_and_close(db)
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO layers (name, next_version) VALUES ('kept', 3)")
    await _open_and_close(db)
    assert _revision(db) == head_revision()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT name, next_version FROM layers").fetchall() == [("kept", 3)]


async def test_a_pre_alembic_store_is_stamped_and_upgraded_keeping_every_row(
    tmp_path: Path,
) -> None:
    db = tmp_path / "nimbus.db"
    shutil.copy(V1_DB, db)
    assert "alembic_version" not in _tables(db)
    kept = _columns(db)
    before = _rows(db, kept)
    assert all(before[t] for t in ("functions", "function_versions", "aliases", "sqs_messages"))

    # The revision 0001 says the old code created, plus 0002..head, equals the model: so 0001
    # is exactly the old schema, or the stamped store would differ from it here.
    assert await _open_and_close(db) == []
    assert _revision(db) == head_revision()
    assert "nimbus_meta" not in _tables(db)
    assert _rows(db, kept) == before


async def test_nimbus_tables_without_a_revision_are_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "nimbus.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE functions (name TEXT PRIMARY KEY)")
    with pytest.raises(StoreSchemaError, match="functions"):
        await _open_and_close(db)
    assert _tables(db) == {"functions"}


async def test_a_store_from_a_newer_nimbus_is_refused_untouched(tmp_path: Path) -> None:
    db = tmp_path / "nimbus.db"
    await _open_and_close(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(StoreSchemaError, match="9999"):
        await _open_and_close(db)
    assert _revision(db) == "9999"


async def test_a_failing_revision_rolls_the_whole_upgrade_back(tmp_path: Path) -> None:
    # A view where 0001's last table belongs: fourteen CREATE TABLEs succeed, the fifteenth
    # fails, and none of them may survive (nor a revision row claiming they exist).
    db = tmp_path / "nimbus.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE VIEW layer_versions AS SELECT 1 AS one")
    with pytest.raises(sa.exc.OperationalError, match="layer_versions"):
        await _open_and_close(db)
    assert _tables(db) == set()


BATCH_REVISION = """
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{down}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # recreate="always": the copy-and-swap SQLite needs for most ALTERs, on a table that
    # other tables reference.
    with op.batch_alter_table("functions", recreate="always") as batch:
        batch.add_column(sa.Column("probe", sa.Text, nullable=True))


def downgrade() -> None:
    pass
"""


async def test_a_batch_rebuild_of_a_referenced_table_keeps_rows_and_foreign_keys(
    tmp_path: Path,
) -> None:
    # A future revision that rebuilds `functions` (referenced by function_versions) must work
    # on a populated store, and leave foreign keys enforced afterwards.
    scripts = tmp_path / "migrations"
    shutil.copytree(SCRIPT_LOCATION, scripts, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (scripts / "versions" / "r9001_probe.py").write_text(
        BATCH_REVISION.replace("{down}", head_revision())
    )
    db = tmp_path / "nimbus.db"
    shutil.copy(V1_DB, db)
    kept = _columns(db)
    before = _rows(db, kept)
    engine = await open_engine(f"sqlite+aiosqlite:///{db}")
    try:
        assert await migrate(engine, script_location=scripts) == "9001"
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all() == []
    finally:
        await engine.dispose()
    after = _rows(db, {**kept, "functions": [*kept["functions"], "probe"]})
    assert after["function_versions"] == before["function_versions"]
    assert [row[:-1] for row in after["functions"]] == before["functions"]
