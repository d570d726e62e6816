"""Alembic's entry script: runs the revisions on the connection `migrator` hands it.

Nimbus never runs Alembic from an ini file or against a URL of its own: the migrator opens the
transaction (and on PostgreSQL the advisory lock) and passes the connection in
``config.attributes["connection"]``, so the whole upgrade commits or rolls back as one.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from nimbus.store.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError(
        "nimbus migrations run through nimbus.store.migrations.migrator, which supplies the "
        "connection; there is no alembic.ini"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters a table by copying it; batch mode lets a revision write op.alter_column
    # once and have it work on both databases.
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
