"""EventBridge: event buses, rules and their targets.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_buses",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
    )
    op.create_table(
        "event_rules",
        sa.Column("bus", sa.String(256), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
    )
    op.create_table(
        "event_targets",
        sa.Column("bus", sa.String(256), primary_key=True),
        sa.Column("rule", sa.String(64), primary_key=True),
        sa.Column("target_id", sa.String(64), primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("event_targets")
    op.drop_table("event_rules")
    op.drop_table("event_buses")
