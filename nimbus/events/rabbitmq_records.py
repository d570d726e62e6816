"""The event Lambda sends a function for Amazon MQ for RabbitMQ, built from AMQP deliveries.

AWS's shape ("Using Lambda with Amazon MQ", its RabbitMQ example event)::

    {"eventSource": "aws:rmq",
     "eventSourceArn": "arn:aws:mq:us-west-2:111122223333:broker:test:b-9bcf...",
     "rmqMessagesByQueue": {"test::/": [
        {"basicProperties": {"contentType": "text/plain", "contentEncoding": null,
                             "headers": {"header1": {"bytes": [118, 97, 108]}, "n": 10},
                             "deliveryMode": 1, "priority": 34, "correlationId": null,
                             "replyTo": null, "expiration": "60000", "messageId": null,
                             "timestamp": "Jan 1, 1970, 12:33:41 AM", "type": null,
                             "userId": "AIDACKCEVSQ6C2EXAMPLE", "appId": null,
                             "clusterId": null, "bodySize": 80},
         "redelivered": false,
         "data": "eyJ0aW1lb3V0IjowLCJkYXRhIjoiQ1pybWYwR3c4T3Y0YnFMUXhENEUifQ=="}]}}

Every property is present, ``null`` when the message lacks it (AWS serialises the Java
client's ``BasicProperties``); a header's string (AMQP long string) becomes
``{"bytes": [...]}`` (its UTF-8 bytes), numbers and booleans stay themselves, and the
timestamp is spelled as Java's default date format, in UTC.

Event filtering on MQ sources sees only ``data`` ("Amazon MQ event source mappings only
support filtering on the data key"), decoded: a JSON object as itself, other text as the
string it is.

Pure: values in, values out.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson

from nimbus.events.rabbitmq_rules import queue_key

EVENT_SOURCE = "aws:rmq"
# How deeply headers' tables and arrays may nest (the headers table itself is level 0): far
# more than any publisher uses, and few enough that rendering one stays well within Python's
# recursion limit.
MAX_HEADER_DEPTH = 32
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One AMQP delivery as the broker sent it (Basic.Deliver + content header + body)."""

    delivery_tag: int
    body: bytes
    redelivered: bool = False
    content_type: str | None = None
    content_encoding: str | None = None
    headers: Mapping[str, Any] | None = field(default=None, hash=False)
    delivery_mode: int | None = None
    priority: int | None = None
    correlation_id: str | None = None
    reply_to: str | None = None
    expiration: str | None = None
    message_id: str | None = None
    timestamp: dt.datetime | None = None
    type: str | None = None
    user_id: str | None = None
    app_id: str | None = None
    cluster_id: str | None = None


def java_date(moment: dt.datetime) -> str:
    """``Jan 1, 1970, 12:33:41 AM``: how Lambda spells an AMQP timestamp (UTC)."""
    utc = moment.astimezone(dt.UTC) if moment.tzinfo else moment
    hour = utc.hour % 12 or 12
    half = "AM" if utc.hour < 12 else "PM"
    return (
        f"{_MONTHS[utc.month - 1]} {utc.day}, {utc.year}, "
        f"{hour}:{utc.minute:02d}:{utc.second:02d} {half}"
    )


class UnrecordableMessage(ValueError):
    """A delivery Nimbus cannot turn into a record; the message says why."""


def header_value(value: Any, depth: int = 1) -> Any:
    """An AMQP field-table value as Lambda renders it. Tables and arrays nest as deep as a
    publisher likes; past ``MAX_HEADER_DEPTH`` levels the message is refused (raises
    ``UnrecordableMessage``) rather than recursing without bound."""
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return {"bytes": list(value.encode())}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"bytes": list(bytes(value))}
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return java_date(value)
    if isinstance(value, Mapping | Sequence) and depth > MAX_HEADER_DEPTH:
        raise UnrecordableMessage(
            f"its headers nest tables or arrays more than {MAX_HEADER_DEPTH} levels deep"
        )
    if isinstance(value, Mapping):
        return {str(k): header_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, Sequence):
        return [header_value(v, depth + 1) for v in value]
    return str(value)


def message_record(delivery: Delivery) -> dict[str, Any]:
    """One entry of ``rmqMessagesByQueue[<queue>::<vhost>]``."""
    headers = (
        None
        if delivery.headers is None
        else {str(k): header_value(v) for k, v in delivery.headers.items()}
    )
    return {
        "basicProperties": {
            "contentType": delivery.content_type,
            "contentEncoding": delivery.content_encoding,
            "headers": headers,
            "deliveryMode": delivery.delivery_mode,
            "priority": delivery.priority,
            "correlationId": delivery.correlation_id,
            "replyTo": delivery.reply_to,
            "expiration": delivery.expiration,
            "messageId": delivery.message_id,
            "timestamp": None if delivery.timestamp is None else java_date(delivery.timestamp),
            "type": delivery.type,
            "userId": delivery.user_id,
            "appId": delivery.app_id,
            "clusterId": delivery.cluster_id,
            "bodySize": len(delivery.body),
        },
        "redelivered": delivery.redelivered,
        "data": base64.b64encode(delivery.body).decode(),
    }


def event_payload(*, broker_arn: str, queue: str, vhost: str, records: Sequence[bytes]) -> bytes:
    """The invoke's payload from records serialised once (``orjson.dumps(message_record)``)."""
    head = orjson.dumps(
        {"eventSource": EVENT_SOURCE, "eventSourceArn": broker_arn}
    )  # '{"eventSource":...,"eventSourceArn":...}'
    key = orjson.dumps(queue_key(queue, vhost))
    return head[:-1] + b',"rmqMessagesByQueue":{' + key + b":[" + b",".join(records) + b"]}}"


def envelope_size(*, broker_arn: str, queue: str, vhost: str) -> int:
    """The payload's bytes besides its records."""
    return len(event_payload(broker_arn=broker_arn, queue=queue, vhost=vhost, records=()))


def filter_view(delivery: Delivery) -> dict[str, Any]:
    """What a FilterCriteria pattern sees of a message: its ``data``, decoded."""
    try:
        text = delivery.body.decode()
    except UnicodeDecodeError:
        return {}
    if text.lstrip().startswith("{"):
        try:
            decoded = orjson.loads(text)
        except orjson.JSONDecodeError:
            decoded = None
        if isinstance(decoded, dict):
            return {"data": decoded}
    return {"data": text}
