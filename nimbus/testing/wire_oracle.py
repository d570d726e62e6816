"""What every answer to a bad request must look like: an AWS error its SDK can parse, never
a 5xx that AWS does not document for the operation.

botocore reads errors by protocol: restJson (Lambda) from the ``x-amzn-ErrorType`` header and
a JSON body's ``message``; SQS's JSON protocol from the body's ``__type``; the query protocol
(SNS) from ``<ErrorResponse><Error><Code>``; S3's REST XML (the presigned code-download URLs,
which stand in for S3's) from ``<Error><Code>``. ``problems`` says, for one response, what an SDK
would fail to parse, or which status it should never have seen.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from xml.etree import ElementTree

import orjson

Protocol = Literal["rest-json", "sqs-json", "query", "s3-xml"]
# A 5xx that bad input must never cause, even where the model lists it for the operation.
NEVER_FROM_BAD_INPUT = frozenset({"ServiceException", "InternalError", "InternalFailure"})


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]  # lower-cased names
    body: bytes


def documented_5xx(operation_model: Any | None) -> frozenset[str]:
    """The error types with a 5xx status that botocore's model lists for an operation, but
    those no bad input may cause (``ServiceException``: "The Lambda service encountered an
    internal error")."""
    if operation_model is None:
        return frozenset()
    return frozenset(
        shape.name
        for shape in operation_model.error_shapes
        if shape.metadata.get("error", {}).get("httpStatusCode", 400) >= 500
        and shape.name not in NEVER_FROM_BAD_INPUT
    )


def error_type(protocol: Protocol, answer: Answer) -> str | None:
    """The error code an SDK would read from ``answer``, or None if it reads none."""
    if protocol == "rest-json":
        header = answer.headers.get("x-amzn-errortype", "")
        return header.split(":", 1)[0] or None
    if protocol == "sqs-json":
        try:
            body = orjson.loads(answer.body)
        except orjson.JSONDecodeError:
            return None
        kind = body.get("__type") if isinstance(body, dict) else None
        return kind.rsplit("#", 1)[-1] if isinstance(kind, str) and kind else None
    try:
        root = ElementTree.fromstring(answer.body)
    except ElementTree.ParseError:
        return None
    if protocol == "s3-xml":
        code, wrapper = root.find("./Code"), "Error"
    else:
        code, wrapper = root.find("./Error/Code"), "ErrorResponse"
    return code.text if root.tag == wrapper and code is not None and code.text else None


def _has_message(protocol: Protocol, answer: Answer) -> bool:
    if protocol in ("query", "s3-xml"):
        return True  # <Message> may be empty; the code is what an SDK needs
    try:
        body = orjson.loads(answer.body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(body, dict) and isinstance(body.get("message", body.get("Message")), str)


def problems(
    protocol: Protocol, answer: Answer, *, allowed_5xx: Collection[str] = (), head: bool = False
) -> list[str]:
    """What is wrong with ``answer`` to a (possibly bad) request: empty when nothing is."""
    found: list[str] = []
    if answer.status < 400:
        return found
    code = error_type(protocol, answer)
    if answer.status >= 500 and code not in allowed_5xx:
        found.append(f"status {answer.status} ({code}) is not a documented error")
    if head:
        return found  # a HEAD answer has no body to read an error from
    if code is None:
        found.append(f"status {answer.status} without a {protocol} error code")
    elif not _has_message(protocol, answer):
        found.append(f"{code} without a message")
    return found
