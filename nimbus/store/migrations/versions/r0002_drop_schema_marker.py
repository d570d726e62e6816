"""Drop ``nimbus_meta``: its one row, ``schema=1``, is superseded by ``alembic_version``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

Kept, the marker would still read ``1`` at every later revision. (At this revision the code from
before Alembic can still open the store: its ``create_all`` recreates the table.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("nimbus_meta")


def downgrade() -> None:
    meta = op.create_table(
        "nimbus_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.bulk_insert(meta, [{"key": "schema", "value": "1"}])
