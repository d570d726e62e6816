"""AWS's event-stream encoding (``application/vnd.amazon.eventstream``), as
InvokeWithResponseStream answers in (pure).

One message is:

    total length (uint32) | headers length (uint32) | prelude CRC32 (uint32)
    headers | payload | message CRC32 (uint32, of everything before it)

all integers big-endian, each header ``name length (uint8) | name | type (uint8) | value``; a
string value (type 7) is ``length (uint16) | UTF-8 bytes``. Lambda's events carry three string
headers, ``:event-type``, ``:content-type`` and ``:message-type`` (``event``), which is all
this module writes. botocore's ``EventStreamBuffer`` is the decoder boto3 reads them with (the
unit tests decode with it).
"""

from __future__ import annotations

import binascii
import struct
from collections.abc import Sequence

import orjson

_STRING = 7  # the header value type of a UTF-8 string
_PRELUDE = struct.Struct(">II")
_UINT32 = struct.Struct(">I")
# botocore's decoder refuses a message whose payload is over 24 MiB
# (eventstream._MAX_PAYLOAD_LENGTH); callers keep theirs far below it.
MAX_PAYLOAD_BYTES = 24 * 1024 * 1024


def _header(name: str, value: str) -> bytes:
    raw_name, raw_value = name.encode(), value.encode()
    return (
        bytes((len(raw_name),))
        + raw_name
        + bytes((_STRING,))
        + struct.pack(">H", len(raw_value))
        + raw_value
    )


def message(headers: Sequence[tuple[str, str]], payload: bytes) -> bytes:
    """One event-stream message with string ``headers`` and ``payload``."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"an event-stream payload is at most {MAX_PAYLOAD_BYTES} bytes")
    raw_headers = b"".join(_header(name, value) for name, value in headers)
    total = _PRELUDE.size + _UINT32.size + len(raw_headers) + len(payload) + _UINT32.size
    prelude = _PRELUDE.pack(total, len(raw_headers))
    head = prelude + _UINT32.pack(binascii.crc32(prelude)) + raw_headers
    crc = binascii.crc32(payload, binascii.crc32(head))
    return head + payload + _UINT32.pack(crc)


def event(event_type: str, content_type: str, payload: bytes) -> bytes:
    return message(
        ((":event-type", event_type), (":content-type", content_type), (":message-type", "event")),
        payload,
    )


def payload_chunk(data: bytes) -> bytes:
    """A ``PayloadChunk`` event: bytes of the function's response, as it wrote them (the
    shape's one member, ``Payload``, is the event's payload)."""
    return event("PayloadChunk", "application/octet-stream", data)


def invoke_complete(
    *, error_code: str | None = None, error_details: str | None = None, log_result: str | None
) -> bytes:
    """The ``InvokeComplete`` event that ends every stream: its members are JSON in the
    payload (botocore's rest-json event parsing); a member that is None is left out."""
    members = {"ErrorCode": error_code, "ErrorDetails": error_details, "LogResult": log_result}
    body = orjson.dumps({k: v for k, v in members.items() if v is not None})
    return event("InvokeComplete", "application/json", body)
