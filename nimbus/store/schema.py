"""The one relational schema, shared by SQLite (one node) and PostgreSQL (a cluster).

Documents that are read and written whole (a version's configuration, tags) are stored as
JSON text: the hot path never queries inside them, and one column keeps migrations cheap.
"""

from __future__ import annotations

import sqlalchemy as sa

SCHEMA_VERSION = 1

metadata = sa.MetaData()

meta = sa.Table(
    "nimbus_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

functions = sa.Table(
    "functions",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("tags", sa.Text, nullable=False, default="{}"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("next_version", sa.Integer, nullable=False, default=1),
)

function_versions = sa.Table(
    "function_versions",
    metadata,
    sa.Column("name", sa.String(64), sa.ForeignKey("functions.name"), primary_key=True),
    # "$LATEST" or a decimal version number; numbers sort by `version_number`.
    sa.Column("version", sa.String(16), primary_key=True),
    sa.Column("version_number", sa.Integer, nullable=False),
    sa.Column("config", sa.Text, nullable=False),
)

log_events = sa.Table(
    "log_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("log_group", sa.String(512), nullable=False),
    sa.Column("log_stream", sa.String(512), nullable=False),
    sa.Column("timestamp_ms", sa.BigInteger, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Index("log_events_group_id", "log_group", "id"),
)

function_concurrency = sa.Table(
    "function_concurrency",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("reserved", sa.Integer, nullable=False),
)

provisioned_concurrency = sa.Table(
    "provisioned_concurrency",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("qualifier", sa.String(128), primary_key=True),
    sa.Column("requested", sa.Integer, nullable=False),
    sa.Column("last_modified", sa.String(40), nullable=False),
)
