"""The event-stream encoder, decoded by botocore's own decoder and parsed by botocore's own
InvokeWithResponseStream response parser: what boto3 users get out of it."""

from __future__ import annotations

import io
from typing import Any

import botocore.session
import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer
from botocore.parsers import create_parser

from nimbus.frontend.event_stream import (
    MAX_PAYLOAD_BYTES,
    invoke_complete,
    message,
    payload_chunk,
)


def _decoded(raw: bytes) -> list[Any]:
    buffer = EventStreamBuffer()
    buffer.add_data(raw)
    return list(buffer)


def _parsed_events(raw: bytes) -> list[dict[str, Any]]:
    """What ``lam.invoke_with_response_stream(...)["EventStream"]`` yields for ``raw``."""
    model = botocore.session.get_session().get_service_model("lambda")
    operation = model.operation_model("InvokeWithResponseStream")
    parser = create_parser("rest-json")

    class _Raw:
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def stream(self) -> Any:
            while chunk := self._data.read(7):  # split mid-message, as a socket does
                yield chunk

    response = {
        "status_code": 200,
        "headers": {},
        "body": _Raw(raw),
        "context": {"operation_name": "InvokeWithResponseStream"},
    }
    parsed = parser.parse(response, operation.output_shape)
    return list(parsed["EventStream"])


def test_messages_decode_with_botocore_headers_and_payload() -> None:
    raw = message([(":event-type", "PayloadChunk"), ("x", "é")], b"\x00\x01payload")
    [decoded] = _decoded(raw)
    assert decoded.headers == {":event-type": "PayloadChunk", "x": "é"}
    assert decoded.payload == b"\x00\x01payload"


def test_a_stream_reads_as_boto3_yields_it() -> None:
    raw = (
        payload_chunk(b"first ")
        + payload_chunk(b"")
        + payload_chunk(bytes(range(256)))
        + invoke_complete(log_result="dGFpbA==")
    )
    assert _parsed_events(raw) == [
        {"PayloadChunk": {"Payload": b"first "}},
        {"PayloadChunk": {"Payload": b""}},
        {"PayloadChunk": {"Payload": bytes(range(256))}},
        {"InvokeComplete": {"LogResult": "dGFpbA=="}},
    ]


def test_invoke_complete_carries_the_error() -> None:
    raw = invoke_complete(
        error_code="Sandbox.Timedout", error_details='{"errorMessage": "late"}', log_result=None
    )
    assert _parsed_events(raw) == [
        {
            "InvokeComplete": {
                "ErrorCode": "Sandbox.Timedout",
                "ErrorDetails": '{"errorMessage": "late"}',
            }
        }
    ]


def test_a_corrupted_byte_fails_the_checksum() -> None:
    raw = bytearray(payload_chunk(b"hello"))
    raw[-6] ^= 0xFF  # a payload byte
    with pytest.raises(ChecksumMismatch):
        _decoded(bytes(raw))


def test_a_payload_over_botocores_limit_is_refused() -> None:
    with pytest.raises(ValueError):
        message([], b"x" * (MAX_PAYLOAD_BYTES + 1))
