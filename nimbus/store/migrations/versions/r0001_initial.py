"""The schema as the store created it before Alembic (``create_all``, marker ``schema=1``).

Revision ID: 0001
Revises:
Create Date: 2026-12-01

Written out by hand, table for table, from nimbus/store/schema.py at commit a9a6dc1; a data
directory of that code is stamped at this revision instead of running it. Python-side column
defaults are left out: they never reach the DDL.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "nimbus_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "functions",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("next_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "function_versions",
        sa.Column("name", sa.String(64), sa.ForeignKey("functions.name"), primary_key=True),
        sa.Column("version", sa.String(16), primary_key=True),
        sa.Column("version_number", sa.Integer, nullable=False),
        sa.Column("config", sa.Text, nullable=False),
    )
    op.create_table(
        "log_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("log_group", sa.String(512), nullable=False),
        sa.Column("log_stream", sa.String(512), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("log_events_group_id", "log_events", ["log_group", "id"])
    op.create_table(
        "function_concurrency",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("reserved", sa.Integer, nullable=False),
    )
    op.create_table(
        "provisioned_concurrency",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("qualifier", sa.String(128), primary_key=True),
        sa.Column("requested", sa.Integer, nullable=False),
        sa.Column("last_modified", sa.String(40), nullable=False),
    )
    op.create_table(
        "async_events",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("function", sa.String(64), nullable=False),
        sa.Column("qualifier", sa.String(128), nullable=True),
        sa.Column("payload", sa.LargeBinary, nullable=False),
        sa.Column("client_context", sa.Text, nullable=True),
        sa.Column("enqueued_at", sa.Float, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("function_errors", sa.Integer, nullable=False),
        sa.Column("backoffs", sa.Integer, nullable=False),
        sa.Column("invokes", sa.Integer, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("claim_expires_at", sa.Float, nullable=False),
        sa.Column("last_response", sa.Text, nullable=True),
    )
    op.create_index("async_events_due", "async_events", ["next_attempt_at", "claim_expires_at"])
    op.create_table(
        "event_invoke_configs",
        sa.Column("function", sa.String(64), primary_key=True),
        sa.Column("qualifier", sa.String(128), primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
    )
    op.create_table(
        "sqs_queues",
        sa.Column("name", sa.String(80), primary_key=True),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("modified_at", sa.Float, nullable=False),
    )
    op.create_table(
        "sqs_messages",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("queue", sa.String(80), nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("sent_at", sa.Float, nullable=False),
        sa.Column("visible_at", sa.Float, nullable=False),
        sa.Column("receive_count", sa.Integer, nullable=False),
        sa.Column("first_receive_at", sa.Float, nullable=True),
    )
    op.create_index("sqs_messages_queue_seq", "sqs_messages", ["queue", "seq"])
    op.create_table(
        "sns_topics",
        sa.Column("name", sa.String(256), primary_key=True),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "sns_subscriptions",
        sa.Column("arn", sa.String(512), primary_key=True),
        sa.Column("topic", sa.String(256), nullable=False),
        sa.Column("protocol", sa.String(16), nullable=False),
        sa.Column("endpoint", sa.String(512), nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
    )
    op.create_table(
        "aliases",
        sa.Column("function", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
    )
    op.create_table(
        "layers",
        sa.Column("name", sa.String(140), primary_key=True),
        sa.Column("next_version", sa.Integer, nullable=False),
    )
    op.create_table(
        "layer_versions",
        sa.Column("name", sa.String(140), sa.ForeignKey("layers.name"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("config", sa.Text, nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("policy", sa.Text, nullable=True),
    )


def downgrade() -> None:
    for table in (
        "layer_versions",
        "layers",
        "aliases",
        "sns_subscriptions",
        "sns_topics",
        "sqs_messages",
        "sqs_queues",
        "event_invoke_configs",
        "async_events",
        "provisioned_concurrency",
        "function_concurrency",
        "log_events",
        "function_versions",
        "functions",
        "nimbus_meta",
    ):
        op.drop_table(table)
