"""The event Lambda passes a function for SQS messages ("Using Lambda with Amazon SQS"):
one record per message, in AWS's shape, serialized once per message; pure functions."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nimbus.model.queue import MessageAttribute, ReceivedMessage


def trace_header_of(message: ReceivedMessage) -> str | None:
    """The message's AWSTraceHeader system attribute (the queue service sets it when the
    message was sent with one: MessageSystemAttributes or the sender's X-Amzn-Trace-Id)."""
    return message.system_attributes.get("AWSTraceHeader") or None


def _attribute(value: MessageAttribute) -> dict[str, Any]:
    # Lambda's record shape: stringValue or binaryValue (base64), the always-empty list
    # values, and dataType (AWS's sample event, "Using Lambda with Amazon SQS").
    body: dict[str, Any] = {}
    if value.string_value is not None:
        body["stringValue"] = value.string_value
    if value.binary_value is not None:
        body["binaryValue"] = base64.b64encode(value.binary_value).decode()
    body["stringListValues"] = []
    body["binaryListValues"] = []
    body["dataType"] = value.data_type
    return body


def sqs_record(message: ReceivedMessage, *, source_arn: str, region: str) -> dict[str, Any]:
    """One entry of the ``Records`` list Lambda passes a function for an SQS message."""
    # Every system attribute, AWSTraceHeader included when the message has one (AWS's event).
    attributes = dict(message.system_attributes)
    return {
        "messageId": message.message_id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {name: _attribute(v) for name, v in message.attributes.items()},
        "md5OfBody": message.md5_of_body,
        "eventSource": "aws:sqs",
        "eventSourceARN": source_arn,
        "awsRegion": region,
    }


@dataclass(frozen=True, kw_only=True)
class Item:
    """A received message and its record, serialized once."""

    message: ReceivedMessage
    record: bytes

    @property
    def size(self) -> int:
        return len(self.record) + 1  # and its comma


def event_payload(batch: Sequence[Item]) -> bytes:
    return b'{"Records":[' + b",".join(item.record for item in batch) + b"]}"
