"""Every response carries ``x-amzn-RequestId``, as AWS's do — errors included.

SDKs report it as ``ResponseMetadata.RequestId`` (and in a ``ClientError``); logs and support
questions quote it. A handler that has a meaningful id sets the header itself (Invoke sets the
invocation's request id, ``POST /`` the id its XML bodies echo); every other response gets a
fresh uuid4 here, or the id already recorded for the request in its scope, so that an error body
and its header agree. Two entry points, one rule:

- ``ensure`` for a response object in hand (the fast path, which skips Starlette);
- ``RequestIds``, an ASGI wrapper that adds the header to whatever the Starlette application
  sends (routes, exception handlers and Starlette's own 404/405/500 alike).
"""

from __future__ import annotations

import uuid
from typing import Final

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER: Final = "x-amzn-RequestId"
SCOPE_KEY: Final = "nimbus.request_id"
_RAW_NAME: Final = b"x-amzn-requestid"  # Starlette's raw header names are lower-case


def request_id_of(scope: Scope) -> str:
    """The request id recorded for this request, recording a new one if there is none yet."""
    current = scope.get(SCOPE_KEY)
    if current:
        return str(current)
    fresh = str(uuid.uuid4())
    scope[SCOPE_KEY] = fresh
    return fresh


def _has_id(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(name == _RAW_NAME for name, _ in headers)


def ensure(response: Response, scope: Scope) -> Response:
    """``response`` with a request id header (the handler's own one is kept)."""
    if not _has_id(response.raw_headers):
        response.raw_headers.append((_RAW_NAME, request_id_of(scope).encode()))
    return response


class RequestIds:
    """``app``, with a request id header added to every response that lacks one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not _has_id(headers):
                    headers.append((_RAW_NAME, request_id_of(scope).encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)
