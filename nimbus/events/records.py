"""Invocation records (AWS's "version 1.0" destination record) and dead-letter messages:
pure functions from what happened to what is sent."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from nimbus.model.queue import MessageAttribute

DLQ_ERROR_MESSAGE_LIMIT = 1024


@dataclass(frozen=True, kw_only=True)
class Response:
    """What the function answered on an attempt (none when it was never reached)."""

    status_code: int = 200
    executed_version: str = "$LATEST"
    function_error: str | None = None
    payload: bytes = b""

    def to_json(self) -> str:
        return orjson.dumps(
            {
                "statusCode": self.status_code,
                "executedVersion": self.executed_version,
                "functionError": self.function_error,
                "payload": self.payload.decode(errors="replace"),
            }
        ).decode()

    @classmethod
    def from_json(cls, text: str) -> Response:
        doc = orjson.loads(text)
        return cls(
            status_code=doc["statusCode"],
            executed_version=doc["executedVersion"],
            function_error=doc.get("functionError"),
            payload=doc.get("payload", "").encode(),
        )


def iso_timestamp(epoch: float) -> str:
    millis = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{millis:03d}Z"


def _json_or_text(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw.decode(errors="replace")


def invocation_record(
    *,
    request_id: str,
    function_arn: str,
    condition: str,
    approximate_invoke_count: int,
    request_payload: bytes,
    response: Response | None,
    now: float,
) -> bytes:
    """The record Lambda sends to an on-success or on-failure destination."""
    record: dict[str, Any] = {
        "version": "1.0",
        "timestamp": iso_timestamp(now),
        "requestContext": {
            "requestId": request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": approximate_invoke_count,
        },
        "requestPayload": _json_or_text(request_payload) if request_payload.strip() else {},
    }
    if response is not None:
        context: dict[str, Any] = {
            "statusCode": response.status_code,
            "executedVersion": response.executed_version,
        }
        if response.function_error is not None:
            context["functionError"] = response.function_error
        record["responseContext"] = context
        record["responsePayload"] = _json_or_text(response.payload)
    return orjson.dumps(record)


def dead_letter_attributes(
    *, request_id: str, error_code: int, error_message: str
) -> dict[str, MessageAttribute]:
    """The message attributes Lambda puts on a dead-letter message."""
    return {
        "RequestID": MessageAttribute(data_type="String", string_value=request_id),
        "ErrorCode": MessageAttribute(data_type="Number", string_value=str(error_code)),
        "ErrorMessage": MessageAttribute(
            data_type="String", string_value=error_message[:DLQ_ERROR_MESSAGE_LIMIT] or "-"
        ),
    }


def error_message(response: Response | None, fallback: str) -> str:
    if response is None:
        return fallback
    body = _json_or_text(response.payload)
    if isinstance(body, dict) and "errorMessage" in body:
        return str(body["errorMessage"])
    return fallback
