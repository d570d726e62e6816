"""Reading request bodies: bounded in size, JSON parsed into AWS's errors."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from nimbus.errors import InvalidRequestContentError, NimbusError


async def read_limited(request: Request, limit: int, too_large: NimbusError) -> bytes:
    """The body, or ``too_large`` as soon as it passes ``limit`` bytes (never buffer more)."""
    length = request.headers.get("content-length")
    if length is not None and length.isascii() and length.isdigit() and int(length) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestContentError(f"Could not parse request body into json: {exc}") from exc
    if not isinstance(value, dict):
        raise InvalidRequestContentError("The request body must be a JSON object.")
    return value
