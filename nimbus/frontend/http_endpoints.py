"""The ASGI shell in front of everything for function URLs and HTTP APIs: a request whose
``Host`` (or path-style prefix) names an endpoint (``web.endpoints``) is read, handed to
that kind's server and answered; anything else goes on to the AWS APIs behind the gate.

Endpoints authenticate for themselves (a NONE function URL needs no signature; an AWS_IAM
one is signed for service ``lambda`` with the URL's host), so they sit outside the gate.
Whatever a server does, the client gets an HTTP answer: an unexpected error is logged and
answered 500, never a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from nimbus.errors import NimbusError
from nimbus.frontend.asgi_body import asgi_header, read_body
from nimbus.web.endpoints import Endpoint, EndpointKind, EndpointNames, endpoint_of
from nimbus.web.http_request import HttpRequest, HttpResponse, text_response

log = logging.getLogger(__name__)

REQUEST_LIMIT = 6_291_456  # 6 MB, Invoke's payload quota, which a URL's request shares


@dataclass(frozen=True, kw_only=True)
class StreamedResponse:
    """A response sent as the function writes it (RESPONSE_STREAM): head first, then each
    chunk as it comes (chunked transfer encoding)."""

    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: AsyncIterator[bytes]
    # Leaves what produces the chunks (a streamed invocation's context), whether or not
    # they were ever read: an async generator never started skips its own ``finally``.
    close: Callable[[], Awaitable[None]]


Reply = HttpResponse | StreamedResponse


class EndpointServer(Protocol):
    """Serves one kind of endpoint. Never raises for anything a client or a function did:
    every such case is an HTTP answer (AWS's status and message)."""

    async def admits(self, endpoint: Endpoint, head: HttpRequest) -> Reply | None:
        """Before the body is read (``head`` has none): the answer for a request that can
        go no further — an endpoint that does not exist, an unsigned request to an AWS_IAM
        URL — or None. No one makes the server read 6 MB for nothing."""

    async def serve(self, endpoint: Endpoint, request: HttpRequest) -> Reply: ...


class HttpEndpoints:
    """ASGI middleware: endpoint requests to their server, the rest to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        names: EndpointNames,
        servers: Mapping[EndpointKind, EndpointServer],
    ) -> None:
        self._app = app
        self._names = names
        self._servers = dict(servers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = scope["headers"]
        host = asgi_header(headers, b"host")
        raw_path = scope.get("raw_path") or scope["path"].encode()
        endpoint = endpoint_of(
            self._names, host.decode("latin-1") if host else None, raw_path.decode("latin-1")
        )
        server = self._servers.get(endpoint.kind) if endpoint is not None else None
        if endpoint is None or server is None:
            await self._app(scope, receive, send)
            return
        head = _request_of(scope, endpoint, b"", raw_path.decode("latin-1"))
        try:
            early = await server.admits(endpoint, head)
            if early is not None:
                await _send(send, early)
                return
            try:
                body = await read_body(receive, headers, REQUEST_LIMIT)
            except ClientDisconnect:
                return
            except NimbusError:
                await _send(send, text_response(413, "Request Entity Too Large"))
                return
            reply = await server.serve(endpoint, replace(head, body=body))
        except Exception:
            log.exception("serving %s %s failed", endpoint.kind, endpoint.id)
            reply = text_response(500, "Internal Server Error")
        await _send(send, reply)


def _request_of(scope: Scope, endpoint: Endpoint, body: bytes, full_path: str) -> HttpRequest:
    client = scope.get("client") or ("", 0)
    server = scope.get("server") or ("", 80)
    version = scope.get("http_version", "1.1")
    return HttpRequest(
        method=scope["method"].upper(),
        raw_path=endpoint.path,
        raw_query=scope.get("query_string", b"").decode("latin-1"),
        headers=tuple(
            (name.decode("latin-1").lower(), value.decode("latin-1"))
            for name, value in scope["headers"]
        ),
        body=body,
        source_ip=str(client[0]),
        protocol=f"HTTP/{version}",
        domain_name=endpoint.host,
        scheme=scope.get("scheme", "http"),
        port=int(server[1] or 80),
        full_path=full_path,
    )


async def _send(send: Send, reply: Reply) -> None:
    try:
        headers = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in reply.headers
        ]
    except UnicodeEncodeError:
        # Every header a function chose is checked before it gets here (payload_v2); a
        # reply that still cannot go on the wire is the platform's error, never a traceback.
        log.error("a reply with a header that is not ISO-8859-1; answered 502")
        await _close(reply)
        reply = text_response(502, "Internal Server Error")
        headers = [(n.encode(), v.encode()) for n, v in reply.headers]
    if isinstance(reply, HttpResponse):
        headers.append((b"content-length", str(len(reply.body)).encode()))
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})
        return
    try:
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        async for chunk in reply.chunks:
            if chunk:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        # However sending ends (a client gone, a cancellation), the body's source closes:
        # a streamed invocation's context is left, so the function never waits on a reader.
        await _close(reply)


async def _close(reply: Reply) -> None:
    if isinstance(reply, StreamedResponse):
        await reply.close()
