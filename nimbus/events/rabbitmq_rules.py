"""Pure rules of Amazon MQ for RabbitMQ event source mappings: the broker ARN, the settings a
mapping accepts (botocore's shapes, then AWS's rules for MQ sources), and when a batch is
ready.

As AWS documents them ("Using Lambda with Amazon MQ", "Event source mapping parameters"):
BatchSize 1-10,000 (default 100); MaximumBatchingWindowInSeconds 0-300 with a 500 ms default
that the integer field cannot express (so once set, it cannot go back); ``Queues`` names
exactly one queue; ``SourceAccessConfigurations`` holds ``BASIC_AUTH`` (the secret with the
broker's username and password) and, for RabbitMQ, ``VIRTUAL_HOST`` (default ``/``), which
UpdateEventSourceMapping may not change; FilterCriteria applies (on ``data``); the function's
timeout is at most 14 minutes. Stream, Kafka and SQS-only members are refused by name.

Nothing here does I/O; ``mappings.py`` and ``rabbitmq_poller.py`` call these with values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from nimbus.errors import InvalidParameterValueError, ValidationError
from nimbus.events import record_filter
from nimbus.events.mapping_rules import MAX_BATCH_SIZE, MAX_WINDOW_S, PAYLOAD_LIMIT, check_range
from nimbus.model.event_source_mapping import MappingChanges, MappingSettings, SourceAccess

MQ = "mq"
DEFAULT_BATCH_SIZE = 100
DEFAULT_WINDOW_S = 0.5
DEFAULT_VHOST = "/"
BASIC_AUTH, VIRTUAL_HOST = "BASIC_AUTH", "VIRTUAL_HOST"
# Lambda stops MQ functions' invocations at 14 minutes so that it can still settle the batch
# ("event source mappings for ... Amazon MQ ... only support functions with maximum timeout
# limits of 14 minutes").
MAX_FUNCTION_TIMEOUT_S = 14 * 60
# AMQP's prefetch count is a 16-bit field.
MAX_PREFETCH = 65_535

# botocore's SourceAccessType enum and URI shape.
SOURCE_ACCESS_TYPES = (
    "BASIC_AUTH",
    "VPC_SUBNET",
    "VPC_SECURITY_GROUP",
    "SASL_SCRAM_512_AUTH",
    "SASL_SCRAM_256_AUTH",
    "VIRTUAL_HOST",
    "CLIENT_CERTIFICATE_TLS_AUTH",
    "SERVER_ROOT_CA_CERTIFICATE",
    "OAUTHBEARER_AUTH",
    "OAUTHBEARER_SCOPE",
    "OAUTHBEARER_AUDIENCE",
    "OAUTHBEARER_LOGICAL_CLUSTER",
    "OAUTHBEARER_IDENTITY_POOL",
    "IAM_AUTH",
    "IAM_OAUTHBEARER_AUTH",
)
_URI_RE = re.compile(r"[ a-zA-Z0-9\-/*:_+=.@]*")
MAX_URI, MAX_QUEUE, MAX_ACCESS = 200, 1000, 23
# Amazon MQ broker names: 1-50 letters, digits, dashes, periods, underscores and tildes.
_BROKER_RE = re.compile(
    r"arn:(aws[a-zA-Z0-9-]*):mq:([a-z0-9-]+):(\d{12}):broker:([A-Za-z0-9._~-]{1,50}):(.+)"
)
_SECRET_RE = re.compile(
    r"arn:(aws[a-zA-Z0-9-]*):secretsmanager:([a-z0-9-]*):(\d{12})?:secret:([A-Za-z0-9/_+=.@-]+)"
)
# The members an MQ mapping takes beyond the common ones (the frontend also lists them among
# "other" parameters, for the SQS rules to refuse).
_OWN_PARAMETERS = ("Queues", "SourceAccessConfigurations")


@dataclass(frozen=True, kw_only=True)
class Broker:
    """An Amazon MQ broker ARN, ``arn:aws:mq:REGION:ACCOUNT:broker:NAME:ID``."""

    arn: str
    region: str
    account: str
    name: str
    broker_id: str


def parse_broker(arn: str) -> Broker:
    match = _BROKER_RE.fullmatch(arn)
    if match is None:
        raise InvalidParameterValueError(
            f"Invalid Amazon MQ broker ARN '{arn}': expected "
            "arn:aws:mq:REGION:ACCOUNT:broker:NAME:ID (the broker's name is what "
            "NIMBUS_MQ_BROKERS or mq.json maps to an AMQP address)."
        )
    _partition, region, account, name, broker_id = match.groups()
    return Broker(arn=arn, region=region, account=account, name=name, broker_id=broker_id)


def check_owner(broker: Broker, *, region: str, account: str) -> None:
    """AWS maps brokers of the function's own account and region only ("Cross account -
    Lambda does not support cross-account processing")."""
    if broker.account != account or broker.region != region:
        raise InvalidParameterValueError(
            f"The broker {broker.arn} is not in this account and region "
            f"({account}, {region}): Lambda does not map brokers of another account."
        )


def check_function_timeout(timeout_s: int) -> None:
    if timeout_s > MAX_FUNCTION_TIMEOUT_S:
        raise InvalidParameterValueError(
            f"The function's timeout ({timeout_s} seconds) is over {MAX_FUNCTION_TIMEOUT_S} "
            "seconds, the most Lambda allows a function with an Amazon MQ event source. "
            "Lower its Timeout first."
        )


# --- settings ----------------------------------------------------------------------------


def defaults(function_name: str, qualifier: str | None) -> MappingSettings:
    """A new MQ mapping before the request applies: BatchSize 100, the 500 ms window."""
    return MappingSettings(
        function_name=function_name,
        qualifier=qualifier,
        batch_size=DEFAULT_BATCH_SIZE,
        default_window=True,
    )


def apply_changes(
    current: MappingSettings,
    changes: MappingChanges,
    *,
    function_name: str,
    qualifier: str | None,
    creating: bool,
) -> MappingSettings:
    """``current`` with ``changes`` applied, as AWS checks a request for an MQ source:
    botocore's shapes first (ValidationException), then MQ's rules
    (InvalidParameterValueException)."""
    _refuse_others(changes)
    settings = replace(current, function_name=function_name, qualifier=qualifier)
    if changes.enabled is not None:
        settings = replace(settings, enabled=changes.enabled)
    if changes.batch_size is not None:
        check_range("batchSize", changes.batch_size, 1, MAX_BATCH_SIZE)
        settings = replace(settings, batch_size=changes.batch_size)
    if changes.batching_window_s is not None:
        check_range("maximumBatchingWindowInSeconds", changes.batching_window_s, 0, MAX_WINDOW_S)
        settings = replace(
            settings, batching_window_s=changes.batching_window_s, default_window=False
        )
    if changes.filter_patterns is not None:
        settings = replace(
            settings, filter_patterns=record_filter.check_filters(changes.filter_patterns)
        )
    if changes.tags is not None:
        settings = replace(settings, tags=dict(changes.tags))
    if changes.queues is not None:
        if not creating:
            raise InvalidParameterValueError(
                "Queues cannot be updated: delete the event source mapping and create one for "
                "the other queue."
            )
        settings = replace(settings, queues=check_queues(changes.queues))
    elif creating:
        raise InvalidParameterValueError(
            "Queues is required for an Amazon MQ event source: name the one queue to consume."
        )
    if changes.source_access is not None:
        settings = replace(
            settings,
            source_access=check_source_access(
                changes.source_access, current=settings.source_access, creating=creating
            ),
        )
    elif creating:
        raise InvalidParameterValueError(_NEEDS_BASIC_AUTH)
    return settings


_NEEDS_BASIC_AUTH = (
    "SourceAccessConfigurations must hold a BASIC_AUTH entry for an Amazon MQ event source: "
    "its URI is the ARN of the secret with the broker's username and password "
    "(arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME)."
)


def _refuse_others(changes: MappingChanges) -> None:
    names = [n for n in changes.other_parameters if n not in _OWN_PARAMETERS]
    if changes.response_types:
        names.append("FunctionResponseTypes")
    if changes.scaling_given:
        names.append("ScalingConfig")
    if names:
        raise InvalidParameterValueError(
            f"Unsupported parameters for an Amazon MQ event source: {', '.join(names)}. They "
            "apply to streams, Kafka or SQS sources."
        )


def check_queues(queues: Sequence[str]) -> tuple[str, ...]:
    """botocore's Queues shape: exactly one name of 1-1,000 characters."""
    if len(queues) != 1:
        bound = "greater than or equal to 1" if not queues else "less than or equal to 1"
        raise ValidationError(
            f"1 validation error detected: Value '[{', '.join(queues)}]' at 'queues' failed "
            f"to satisfy constraint: Member must have length {bound}"
        )
    name = queues[0]
    if not 1 <= len(name) <= MAX_QUEUE:
        bound = "greater than or equal to 1" if not name else f"less than or equal to {MAX_QUEUE}"
        raise ValidationError(
            f"1 validation error detected: Value '{name[:64]}' at 'queues.1.member' failed to "
            f"satisfy constraint: Member must have length {bound}"
        )
    return (name,)


def check_source_access(
    entries: Sequence[SourceAccess], *, current: Sequence[SourceAccess], creating: bool
) -> tuple[SourceAccess, ...]:
    """The new SourceAccessConfigurations: botocore's shape, then MQ's rules. An update
    replaces BASIC_AUTH and keeps the virtual host it may not change."""
    if len(entries) > MAX_ACCESS:
        raise ValidationError(
            "1 validation error detected: Value at 'sourceAccessConfigurations' failed to "
            f"satisfy constraint: Member must have length less than or equal to {MAX_ACCESS}"
        )
    for index, entry in enumerate(entries, start=1):
        where = f"sourceAccessConfigurations.{index}.member"
        if entry.type not in SOURCE_ACCESS_TYPES:
            raise ValidationError(
                f"1 validation error detected: Value '{entry.type}' at '{where}.type' failed to "
                "satisfy constraint: Member must satisfy enum value set: "
                f"[{', '.join(SOURCE_ACCESS_TYPES)}]"
            )
        if not 1 <= len(entry.uri) <= MAX_URI or _URI_RE.fullmatch(entry.uri) is None:
            raise ValidationError(
                f"1 validation error detected: Value '{entry.uri[:64]}' at '{where}.uRI' failed "
                f"to satisfy constraint: Member must satisfy regular expression pattern: "
                f"[ a-zA-Z0-9-\\/*:_+=.@-]* and have length between 1 and {MAX_URI}"
            )
    types = [entry.type for entry in entries]
    for kind in types:
        if kind not in (BASIC_AUTH, VIRTUAL_HOST):
            raise InvalidParameterValueError(
                f"Source access type {kind} is not supported for Amazon MQ for RabbitMQ: use "
                "BASIC_AUTH (the secret's ARN) and VIRTUAL_HOST (the virtual host's name)."
            )
        if types.count(kind) > 1:
            raise InvalidParameterValueError(
                f"SourceAccessConfigurations may hold one {kind} entry, not {types.count(kind)}."
            )
    if BASIC_AUTH not in types:
        raise InvalidParameterValueError(_NEEDS_BASIC_AUTH)
    secret_name(next(e.uri for e in entries if e.type == BASIC_AUTH))
    if not creating:
        if VIRTUAL_HOST in types:
            raise InvalidParameterValueError(
                "VIRTUAL_HOST cannot be specified in UpdateEventSourceMapping: delete the "
                "event source mapping and create one for the other virtual host."
            )
        kept = [e for e in current if e.type == VIRTUAL_HOST]
        return (*entries, *kept)
    return tuple(entries)


def secret_name(uri: str) -> str:
    """The secret's name in a BASIC_AUTH URI (a Secrets Manager secret ARN)."""
    match = _SECRET_RE.fullmatch(uri)
    if match is None:
        raise InvalidParameterValueError(
            f"The BASIC_AUTH URI '{uri}' is not a secret's ARN: expected "
            "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME, NAME being a secret of "
            'mq.json\'s "secrets".'
        )
    return match.group(4)


def basic_auth_secret(settings: MappingSettings) -> str:
    """The name of the secret the mapping's BASIC_AUTH entry names ("" when none)."""
    for entry in settings.source_access:
        if entry.type == BASIC_AUTH:
            return secret_name(entry.uri)
    return ""


def virtual_host(settings: MappingSettings) -> str:
    for entry in settings.source_access:
        if entry.type == VIRTUAL_HOST:
            return entry.uri
    return DEFAULT_VHOST


def queue_key(queue: str, vhost: str) -> str:
    """How AWS keys ``rmqMessagesByQueue``: ``<queue>::<virtual host>``."""
    return f"{queue}::{vhost}"


# --- batching ----------------------------------------------------------------------------


def window_s(settings: MappingSettings) -> float:
    return DEFAULT_WINDOW_S if settings.default_window else float(settings.batching_window_s)


def prefetch(batch_size: int) -> int:
    """How many unacknowledged messages the broker may push to the consumer: one batch."""
    return max(1, min(batch_size, MAX_PREFETCH))


@dataclass(frozen=True, kw_only=True)
class Progress:
    records: int
    size_bytes: int
    opened_at: float | None  # monotonic time the batch's first record arrived
    now: float


def batch_ready(progress: Progress, *, batch_size: int, window_s: float) -> bool:
    """Invoke now? When the batch is full (BatchSize, or the 6 MB payload), or its window,
    counted from its first record, has closed."""
    if progress.records == 0:
        return False
    if progress.records >= batch_size or progress.size_bytes >= PAYLOAD_LIMIT:
        return True
    assert progress.opened_at is not None
    return progress.now - progress.opened_at >= window_s


def wait_for_next(progress: Progress, *, window_s: float) -> float | None:
    """How long to wait for the next message of a batch that is not ready: as long as it
    takes for the first (None), what is left of the window for the others."""
    if progress.records == 0 or progress.opened_at is None:
        return None
    return max(0.0, window_s - (progress.now - progress.opened_at))
