"""EventBridge Scheduler: schedule groups and schedules; the timer's last fired ticks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduler_groups",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("modified_at", sa.Float, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
    )
    op.create_table(
        "scheduler_schedules",
        sa.Column("group_name", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("modified_at", sa.Float, nullable=False),
    )
    op.create_table(
        "timer_fired",
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("fired_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("timer_fired")
    op.drop_table("scheduler_schedules")
    op.drop_table("scheduler_groups")
