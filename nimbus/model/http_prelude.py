"""The HTTP response a streaming function describes before its body (pure).

AWS's Node.js runtime writes it for ``awslambda.HttpResponseStream.from(stream, prelude)``:
the stream's content type becomes ``application/vnd.awslambda.http-integration-response``,
and its first bytes are the prelude as JSON (``statusCode``, ``headers``, ``cookies``), then
eight NUL bytes, then the body. A function URL in RESPONSE_STREAM mode (and API Gateway's
streaming integration) reads the status and headers from the prelude and sends the rest as
the body. Nimbus's Python runtime writes the same for a generator handler's first ``dict``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

HTTP_INTEGRATION_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
DELIMITER = b"\x00" * 8
# API Gateway's streaming integration requires the prelude and its delimiter within the
# first 16 KB of the stream ("Set up a Lambda proxy integration with payload response
# streaming"); a stream without them by then is not an HTTP response.
MAX_PRELUDE_BYTES = 16 * 1024


class InvalidPrelude(ValueError):
    """The stream's start is not a prelude: not JSON, not an object, a field of the wrong
    type, or no delimiter within the limit."""


@dataclass(frozen=True, kw_only=True)
class HttpPrelude:
    status_code: int = 200
    # In order, a name repeated for each of its values (``multiValueHeaders`` adds these).
    headers: tuple[tuple[str, str], ...] = ()
    cookies: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PreludeSplit:
    prelude: HttpPrelude
    body: bytes  # what followed the delimiter in the bytes given: the body's first bytes


def split_prelude(data: bytes, *, limit: int = MAX_PRELUDE_BYTES) -> PreludeSplit | None:
    """Split the stream's first bytes ``data`` (all of them so far) into the prelude and the
    body's start; None while the delimiter has not arrived (call again with more bytes).
    Raises InvalidPrelude when it cannot be one."""
    end = data.find(DELIMITER, 0, limit + len(DELIMITER))
    if end < 0:
        if len(data) >= limit + len(DELIMITER):
            raise InvalidPrelude(f"no prelude delimiter within the first {limit} bytes")
        return None
    return PreludeSplit(prelude=parse_prelude(data[:end]), body=data[end + len(DELIMITER) :])


def parse_prelude(raw: bytes) -> HttpPrelude:
    """The prelude's JSON (without its delimiter)."""
    try:
        value = json.loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError) as exc:
        raise InvalidPrelude(f"the prelude is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidPrelude("the prelude is not a JSON object")
    status = value.get("statusCode", 200)
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidPrelude("statusCode must be an integer from 100 to 599")
    headers = [(name, _text(v)) for name, v in _mapping(value, "headers").items()]
    for name, values in _mapping(value, "multiValueHeaders").items():
        if not isinstance(values, list):
            raise InvalidPrelude("multiValueHeaders values must be lists")
        headers.extend((name, _text(v)) for v in values)
    cookies = value.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise InvalidPrelude("cookies must be a list of strings")
    return HttpPrelude(status_code=status, headers=tuple(headers), cookies=tuple(cookies))


def _mapping(value: dict[str, object], key: str) -> dict[str, object]:
    found = value.get(key) or {}
    if not isinstance(found, dict):
        raise InvalidPrelude(f"{key} must be an object")
    return found


def _text(value: object) -> str:
    # JSON numbers and booleans are sent as their JSON text; anything else is a mistake.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise InvalidPrelude("header values must be strings, numbers or booleans")
