"""A request's body read straight from ASGI, before any route (the gate reads it once to check
its signature): bounded, in AWS's words when too large, and replayed to the route."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive

from nimbus.errors import NimbusError, RequestEntityTooLargeError, RequestTooLargeError

_PAYLOAD_OPERATIONS: Final = frozenset({"Invoke", "InvokeAsync", "InvokeWithResponseStream"})


def asgi_header(headers: Sequence[tuple[bytes, bytes]], wanted: bytes) -> bytes | None:
    """The first value of header ``wanted`` (lower-case, as ASGI gives names) in a scope's
    header list."""
    for name, value in headers:
        if name == wanted:
            return value
    return None


async def read_body(
    receive: Receive,
    headers: Sequence[tuple[bytes, bytes]],
    limit: int,
    too_large: NimbusError | None = None,
) -> bytes:
    """The whole body, refused (``too_large``) as soon as it passes ``limit`` (by
    Content-Length before any of it is read). One copy at most: a body that arrives in one
    message is returned as is."""
    if too_large is None:
        too_large = too_large_error(limit)
    length = asgi_header(headers, b"content-length")
    if length is not None and length.isdigit() and int(length) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if len(chunks) == 1:
        return chunks[0]
    return b"".join(chunks)


def too_large_error(limit: int, operation: str = "") -> NimbusError:
    """AWS's words for a request past ``limit``, in the error type its handler uses."""
    if operation in _PAYLOAD_OPERATIONS or not operation:
        error: type[NimbusError] = RequestTooLargeError
    else:
        error = RequestEntityTooLargeError
    what = f"the {operation} operation" if operation else "any operation"
    return error(f"Request must be smaller than {limit} bytes for {what}")


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands ``body`` over once, then defers to ``receive`` (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def json_object(raw: bytes) -> dict[str, Any] | None:
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None  # the handler answers the parse error
    return value if isinstance(value, dict) else None
