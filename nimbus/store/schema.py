"""The one relational schema, shared by SQLite (one node) and PostgreSQL (a cluster).

Documents that are read and written whole (a version's configuration, tags) are stored as
JSON text: the hot path never queries inside them, and one column keeps migrations cheap.

These tables are the *current* schema, the one the repositories query. The database gets it
from the revisions in migrations/versions/, never from ``create_all``: a change here needs a
new revision too, and tests/unit/store/test_migrations.py fails until the two agree.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

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

# --- Asynchronous invocation (events/) ---------------------------------------------------

# One row per accepted async event until it is acknowledged (invoked successfully, or handed
# to its failure destination / DLQ). A poller claims a row by setting claimed_by and a claim
# expiry; a node that dies mid-invoke loses its claims when they expire.
async_events = sa.Table(
    "async_events",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # the request id answered with the 202
    sa.Column("function", sa.String(64), nullable=False),
    sa.Column("qualifier", sa.String(128), nullable=True),
    sa.Column("payload", sa.LargeBinary, nullable=False),
    sa.Column("client_context", sa.Text, nullable=True),
    sa.Column("enqueued_at", sa.Float, nullable=False),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Column("function_errors", sa.Integer, nullable=False, default=0),
    sa.Column("backoffs", sa.Integer, nullable=False, default=0),
    sa.Column("invokes", sa.Integer, nullable=False, default=0),
    sa.Column("claimed_by", sa.String(64), nullable=True),
    sa.Column("claim_expires_at", sa.Float, nullable=False, default=0.0),
    sa.Column("last_response", sa.Text, nullable=True),  # JSON: the last function error seen
    # The X-Amzn-Trace-Id the event was accepted with: its Lineage field counts the hops of a
    # recursive loop (events/lineage.py), carried to every attempt and destination.
    sa.Column("trace_header", sa.Text, nullable=True),
    sa.Index("async_events_due", "next_attempt_at", "claim_expires_at"),
)

event_invoke_configs = sa.Table(
    "event_invoke_configs",
    metadata,
    sa.Column("function", sa.String(64), primary_key=True),
    sa.Column("qualifier", sa.String(128), primary_key=True),  # "$LATEST" when unqualified
    sa.Column("config", sa.Text, nullable=False),  # JSON document, read and written whole
)

# --- Built-in queues (queues/, SQS-compatible) and topics (SNS-compatible) ----------------

sqs_queues = sa.Table(
    "sqs_queues",
    metadata,
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("attributes", sa.Text, nullable=False),  # JSON: settable attributes
    sa.Column("tags", sa.Text, nullable=False, default="{}"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("modified_at", sa.Float, nullable=False),
)

sqs_messages = sa.Table(
    "sqs_messages",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("queue", sa.String(80), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("attributes", sa.Text, nullable=False),  # JSON: message attributes
    sa.Column("sent_at", sa.Float, nullable=False),
    sa.Column("visible_at", sa.Float, nullable=False),
    sa.Column("receive_count", sa.Integer, nullable=False, default=0),
    sa.Column("first_receive_at", sa.Float, nullable=True),
    # The AWSTraceHeader system attribute (the sender's X-Amzn-Trace-Id, with its Lineage).
    sa.Column("trace_header", sa.Text, nullable=True),
    sa.Index("sqs_messages_queue_seq", "queue", "seq"),
)

sns_topics = sa.Table(
    "sns_topics",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("attributes", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

sns_subscriptions = sa.Table(
    "sns_subscriptions",
    metadata,
    sa.Column("arn", sa.String(512), primary_key=True),
    sa.Column("topic", sa.String(256), nullable=False),
    sa.Column("protocol", sa.String(16), nullable=False),
    sa.Column("endpoint", sa.String(512), nullable=False),
    sa.Column("attributes", sa.Text, nullable=False),
)

# --- Aliases and layers (control/) ---------------------------------------------------------

aliases = sa.Table(
    "aliases",
    metadata,
    sa.Column("function", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("config", sa.Text, nullable=False),
)

layers = sa.Table(
    "layers",
    metadata,
    sa.Column("name", sa.String(140), primary_key=True),
    # Version numbers are never reused, even after every version is deleted.
    sa.Column("next_version", sa.Integer, nullable=False),
)

layer_versions = sa.Table(
    "layer_versions",
    metadata,
    sa.Column("name", sa.String(140), sa.ForeignKey("layers.name"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("config", sa.Text, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("policy", sa.Text, nullable=True),
)

# --- Identity (auth/, iam/): access keys, users, roles, policies ----------------------------

access_keys = sa.Table(
    "access_keys",
    metadata,
    sa.Column("access_key_id", sa.String(128), primary_key=True),
    # The secret, sealed with the node key (AES-GCM): the store alone never yields it.
    sa.Column("secret", sa.Text, nullable=False),
    # None: a key of the account itself (an administrator, like AWS's root user).
    sa.Column("user_name", sa.String(64), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # Active | Inactive
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_used_at", sa.Float, nullable=True),
)

iam_users = sa.Table(
    "iam_users",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("path", sa.String(512), nullable=False),
    sa.Column("tags", sa.Text, nullable=False),  # JSON list of {Key, Value}
    sa.Column("created_at", sa.Float, nullable=False),
)

iam_roles = sa.Table(
    "iam_roles",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role_id", sa.String(32), nullable=False),
    sa.Column("path", sa.String(512), nullable=False),
    sa.Column("trust_policy", sa.Text, nullable=False),  # AssumeRolePolicyDocument
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("max_session_s", sa.Integer, nullable=False),
    sa.Column("tags", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

iam_managed_policies = sa.Table(
    "iam_managed_policies",
    metadata,
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

iam_policy_versions = sa.Table(
    "iam_policy_versions",
    metadata,
    sa.Column("arn", sa.String(512), primary_key=True),
    sa.Column("version_id", sa.String(16), primary_key=True),  # "v1", "v2", ...
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

# Inline policies of users and roles (kind "user" | "role").
iam_inline_policies = sa.Table(
    "iam_inline_policies",
    metadata,
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("owner", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("document", sa.Text, nullable=False),
)

# Managed policies attached to users and roles (kind "user" | "role").
iam_attachments = sa.Table(
    "iam_attachments",
    metadata,
    sa.Column("kind", sa.String(8), primary_key=True),
    sa.Column("owner", sa.String(64), primary_key=True),
    sa.Column("policy_arn", sa.String(512), primary_key=True),
)

# --- Lambda's resource-based policies, code signing and recursion settings (control/) ------

# One policy document per function, version or alias ("" is the unqualified function).
function_policies = sa.Table(
    "function_policies",
    metadata,
    sa.Column("function", sa.String(64), primary_key=True),
    sa.Column("qualifier", sa.String(128), primary_key=True),
    sa.Column("policy", sa.Text, nullable=False),  # JSON: {"Version", "Id", "Statement": [...]}
    sa.Column("revision_id", sa.String(64), nullable=False),
)

code_signing_configs = sa.Table(
    "code_signing_configs",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # csc-...
    sa.Column("config", sa.Text, nullable=False),  # JSON: the CodeSigningConfig shape
)

function_code_signing = sa.Table(
    "function_code_signing",
    metadata,
    sa.Column("function", sa.String(64), primary_key=True),
    sa.Column("config_id", sa.String(64), nullable=False),
)

function_recursion = sa.Table(
    "function_recursion",
    metadata,
    sa.Column("function", sa.String(64), primary_key=True),
    sa.Column("recursive_loop", sa.String(16), nullable=False),  # Allow | Terminate
)

# --- Event source mappings (events/) ---------------------------------------------------------

event_source_mappings = sa.Table(
    "event_source_mappings",
    metadata,
    sa.Column("uuid", sa.String(36), primary_key=True),
    sa.Column("function", sa.String(64), nullable=False),
    sa.Column("source_arn", sa.String(512), nullable=False),
    sa.Column("config", sa.Text, nullable=False),  # JSON: the mapping's settings
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("last_modified", sa.Float, nullable=False),
)

# --- Function URLs (control/function_urls.py) --------------------------------------------------

# One URL per function ("" qualifier) or alias; url_id is the host label clients reach it by.
function_urls = sa.Table(
    "function_urls",
    metadata,
    sa.Column("function", sa.String(64), primary_key=True),
    sa.Column("qualifier", sa.String(128), primary_key=True),
    sa.Column("url_id", sa.String(64), nullable=False, unique=True),
    sa.Column("config", sa.Text, nullable=False),  # JSON: AuthType, InvokeMode, Cors, times
)

# --- HTTP APIs (control/http_apis.py) ----------------------------------------------------------

http_apis = sa.Table(
    "http_apis",
    metadata,
    sa.Column("api_id", sa.String(16), primary_key=True),
    sa.Column("config", sa.Text, nullable=False),  # JSON: model.http_api.HttpApi
)

# An API's integrations, routes and stages (kind "integration" | "route" | "stage"; part_id
# the integration or route id, or the stage name), each a JSON document; they go with the API.
http_api_parts = sa.Table(
    "http_api_parts",
    metadata,
    sa.Column("api_id", sa.String(16), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("part_id", sa.String(128), primary_key=True),
    sa.Column("config", sa.Text, nullable=False),
)

# --- EventBridge (events/buses.py, events/rules.py) --------------------------------------------

# Buses (the default one too, written at first start), rules by bus and name, targets by rule;
# each row's settings are one JSON document of its model.eventbridge value.
event_buses = sa.Table(
    "event_buses",
    metadata,
    sa.Column("name", sa.String(256), primary_key=True),
    sa.Column("config", sa.Text, nullable=False),
)

event_rules = sa.Table(
    "event_rules",
    metadata,
    sa.Column("bus", sa.String(256), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("config", sa.Text, nullable=False),
)

event_targets = sa.Table(
    "event_targets",
    metadata,
    sa.Column("bus", sa.String(256), primary_key=True),
    sa.Column("rule", sa.String(64), primary_key=True),
    sa.Column("target_id", sa.String(64), primary_key=True),
    sa.Column("config", sa.Text, nullable=False),
)

# --- EventBridge Scheduler (events/schedules.py) and the one timer (events/timer.py) -----------

scheduler_groups = sa.Table(
    "scheduler_groups",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("modified_at", sa.Float, nullable=False),
    sa.Column("tags", sa.Text, nullable=False),  # JSON: [[key, value], ...]
)

scheduler_schedules = sa.Table(
    "scheduler_schedules",
    metadata,
    sa.Column("group_name", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("config", sa.Text, nullable=False),  # JSON: model.schedule.ScheduleSettings
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("modified_at", sa.Float, nullable=False),
)

# Each timer's last fired tick (a schedule's "scheduler:<group>/<name>", a rule's key),
# written before the tick's callback runs: a tick never fires twice, across restarts too.
timer_fired = sa.Table(
    "timer_fired",
    metadata,
    sa.Column("key", sa.String(512), primary_key=True),
    sa.Column("fired_at", sa.Float, nullable=False),
)
