"""Identity, resource policies, code signing, recursion settings, event source mappings, and
the trace header (with its loop-counting Lineage) on async events and queue messages.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = (
    "access_keys",
    "iam_users",
    "iam_roles",
    "iam_managed_policies",
    "iam_policy_versions",
    "iam_inline_policies",
    "iam_attachments",
    "function_policies",
    "code_signing_configs",
    "function_code_signing",
    "function_recursion",
    "event_source_mappings",
)


def upgrade() -> None:
    op.add_column("async_events", sa.Column("trace_header", sa.Text, nullable=True))
    op.add_column("sqs_messages", sa.Column("trace_header", sa.Text, nullable=True))
    op.create_table(
        "access_keys",
        sa.Column("access_key_id", sa.String(128), primary_key=True),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("user_name", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("last_used_at", sa.Float, nullable=True),
    )
    op.create_table(
        "iam_users",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "iam_roles",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("role_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("trust_policy", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("max_session_s", sa.Integer, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "iam_managed_policies",
        sa.Column("arn", sa.String(512), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("policy_id", sa.String(32), nullable=False),
        sa.Column("path", sa.String(512), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("default_version", sa.String(16), nullable=False),
        sa.Column("next_version", sa.Integer, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "iam_policy_versions",
        sa.Column("arn", sa.String(512), primary_key=True),
        sa.Column("version_id", sa.String(16), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "iam_inline_policies",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("owner", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
    )
    op.create_table(
        "iam_attachments",
        sa.Column("kind", sa.String(8), primary_key=True),
        sa.Column("owner", sa.String(64), primary_key=True),
        sa.Column("policy_arn", sa.String(512), primary_key=True),
    )
    op.create_table(
        "function_policies",
        sa.Column("function", sa.String(64), primary_key=True),
        sa.Column("qualifier", sa.String(128), primary_key=True),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("revision_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "code_signing_configs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
    )
    op.create_table(
        "function_code_signing",
        sa.Column("function", sa.String(64), primary_key=True),
        sa.Column("config_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "function_recursion",
        sa.Column("function", sa.String(64), primary_key=True),
        sa.Column("recursive_loop", sa.String(16), nullable=False),
    )
    op.create_table(
        "event_source_mappings",
        sa.Column("uuid", sa.String(36), primary_key=True),
        sa.Column("function", sa.String(64), nullable=False),
        sa.Column("source_arn", sa.String(512), nullable=False),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("last_modified", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
    with op.batch_alter_table("sqs_messages") as batch:
        batch.drop_column("trace_header")
    with op.batch_alter_table("async_events") as batch:
        batch.drop_column("trace_header")
