"""HTTP APIs (API Gateway): the APIs, and their integrations, routes and stages.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "http_apis",
        sa.Column("api_id", sa.String(16), primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
    )
    op.create_table(
        "http_api_parts",
        sa.Column("api_id", sa.String(16), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("part_id", sa.String(128), primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("http_api_parts")
    op.drop_table("http_apis")
