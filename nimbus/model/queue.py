"""Values of the built-in queue service (SQS-compatible), as they cross its boundary.

They live in model/ (not queues/) so the store can persist them without importing the
service that uses the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class MessageAttribute:
    data_type: str  # "String", "Number", "Binary", optionally with a ".custom" suffix
    string_value: str | None = None
    binary_value: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class SendRequest:
    body: str
    delay_s: int | None = None  # None: the queue's DelaySeconds
    attributes: Mapping[str, MessageAttribute] = field(default_factory=dict)
    # The AWSTraceHeader system attribute (MessageSystemAttributes, else the request's
    # X-Amzn-Trace-Id): a recursive loop's lineage travels in it (events/lineage.py).
    trace_header: str | None = None


@dataclass(frozen=True, kw_only=True)
class SentMessage:
    message_id: str
    md5_of_body: str
    md5_of_attributes: str | None = None


@dataclass(frozen=True, kw_only=True)
class ReceivedMessage:
    message_id: str
    receipt_handle: str
    body: str
    md5_of_body: str
    system_attributes: Mapping[str, str]
    attributes: Mapping[str, MessageAttribute]
    md5_of_attributes: str | None = None


@dataclass(frozen=True, kw_only=True)
class BatchFailure:
    code: str
    message: str
    sender_fault: bool = True
