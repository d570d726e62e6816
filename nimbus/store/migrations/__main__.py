"""Writing a new revision: ``python -m nimbus.store.migrations revision "add the x table"``.

Autogenerates the revision from the difference between `nimbus.store.schema.metadata` and a
scratch SQLite store brought to head, numbered after the current head. Read what it wrote:
autogenerate misses renames and data moves, and its output is a draft, not a decision.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from nimbus.store.migrations.migrator import alembic_config, head_revision, migrate_connection


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m nimbus.store.migrations")
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser("revision", help="write the next revision")
    revision.add_argument("message")
    revision.add_argument("--empty", action="store_true", help="do not autogenerate")
    args = parser.parse_args()
    rev_id = f"{int(head_revision()) + 1:04d}"
    with tempfile.TemporaryDirectory() as scratch:
        engine = sa.create_engine(f"sqlite:///{Path(scratch) / 'head.db'}")
        with engine.begin() as connection:
            migrate_connection(connection)
            config = alembic_config(connection)
            config.set_main_option("file_template", "r%%(rev)s_%%(slug)s")
            command.revision(config, args.message, autogenerate=not args.empty, rev_id=rev_id)
        engine.dispose()


if __name__ == "__main__":
    main()
