"""One environment's Runtime API endpoint (``AWS_LAMBDA_RUNTIME_API``), on a bare asyncio
Protocol with httptools: a warm invoke crosses it twice, so it must cost microseconds.

Connections follow HTTP/1.x persistence: an HTTP/1.0 request without ``Connection:
keep-alive``, or any request with ``Connection: close``, is answered and then the connection
is closed, so a runtime that reads to EOF (a bash ``/dev/tcp`` bootstrap, a minimal C runtime)
sees its answer end. That includes a long-polled ``/next``, answered only when an invocation
arrives.

Each environment gets its own listening socket. When the environment runs as its own uid,
a connection is accepted only from a socket owned by that uid (looked up once per
connection), so no environment can fetch or answer another's invocations.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import Callable
from typing import cast

import httptools

from nimbus.model.invocation import InvocationRequest
from nimbus.worker import peer_uid
from nimbus.worker.log_format import MAX_RESPONSE_BYTES
from nimbus.worker.outcome import FunctionFailed, Ok, ResponseTooLarge, RuntimeReply
from nimbus.worker.runtime_state import (
    InvalidStateTransition,
    RuntimeEvent,
    RuntimeState,
    transition,
)

log = logging.getLogger(__name__)

PREFIX = b"/2018-06-01/runtime/"
# The Runtime Interface Emulator caps what the runtime may post to /init/error and
# /invocation/{id}/error at 1 MiB (http.MaxBytesHandler around both) and answers a larger
# body 413 RequestEntityTooLarge. Nimbus answers the same; the invocation (or Init) still
# ends as a function error, with the error type and without the oversized body.
MAX_ERROR_BYTES = 1024 * 1024


def _status_line(status: int) -> bytes:
    reason = {
        200: "OK",
        202: "Accepted",
        400: "Bad Request",
        403: "Forbidden",
        404: "Not Found",
        413: "Request Entity Too Large",
    }.get(status, "Error")
    return f"HTTP/1.1 {status} {reason}\r\n".encode()


def _json_response(status: int, body: dict[str, str]) -> bytes:
    raw = json.dumps(body).encode()
    return (
        _status_line(status)
        + b"Content-Type: application/json\r\nContent-Length: "
        + str(len(raw)).encode()
        + b"\r\n\r\n"
        + raw
    )


_ACCEPTED = _json_response(202, {"status": "OK"})


def _error(status: int, error_type: str, message: str) -> bytes:
    return _json_response(status, {"errorMessage": message, "errorType": error_type})


def _too_large(limit: int) -> bytes:
    return _error(
        413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({limit} bytes)."
    )


def _error_too_large() -> bytes:
    return _too_large(MAX_ERROR_BYTES)


def body_limit(url: bytes) -> int:
    """How much of a request body the Runtime API keeps: error posts are capped lower than
    responses (pure)."""
    return MAX_ERROR_BYTES if url.split(b"?", 1)[0].endswith(b"/error") else MAX_RESPONSE_BYTES


class RuntimeApi:
    def __init__(
        self,
        *,
        bind_host: str,
        expected_uid: int | None,
        on_init: Callable[[Ok | FunctionFailed], None],
        peers: peer_uid.PeerUidLookup | None = None,
    ) -> None:
        self._bind_host = bind_host
        self._expected_uid = expected_uid
        self._peers = peers or peer_uid.PeerUidLookup()
        self._on_init = on_init  # Ok: Init succeeded (first /next); else the init error
        self.state = RuntimeState.STARTED
        self._server: asyncio.Server | None = None
        self.port = 0
        self._parked: _Connection | None = None
        self._pending: InvocationRequest | None = None  # dispatched before /next came back
        self._current: InvocationRequest | None = None
        self._reply: asyncio.Future[RuntimeReply] | None = None

    @property
    def address(self) -> str:
        return f"{self._bind_host}:{self.port}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # A socket made here, not by create_server(host, ...): that resolves the host name
        # in a thread, which costs a cold start ~1 ms.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.bind((self._bind_host, 0))
            sock.listen(16)
            sock.setblocking(False)
            self._server = await loop.create_server(lambda: _Connection(self), sock=sock)
        except BaseException:
            sock.close()
            raise
        self.port = sock.getsockname()[1]

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._parked is not None:
            self._parked.abort()
            self._parked = None

    def accepts(self, peer: tuple[str, int]) -> bool:
        if self._expected_uid is None:
            return True
        return self._peers.uid_of(peer, (self._bind_host, self.port)) == self._expected_uid

    def dispatch(self, request: InvocationRequest, reply: asyncio.Future[RuntimeReply]) -> None:
        """Hand an invocation to the runtime (now if it is parked in /next, else when it is)."""
        self._reply = reply
        if self.state is RuntimeState.READY and self._parked is not None:
            self._deliver(request)
        else:
            self._pending = request

    def _deliver(self, request: InvocationRequest) -> None:
        self.state = transition(self.state, RuntimeEvent.DISPATCH)
        self._current = request
        conn, self._parked = self._parked, None
        assert conn is not None
        headers = [
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n",
            b"Lambda-Runtime-Aws-Request-Id: ",
            request.request_id.encode(),
            b"\r\n",
            b"Lambda-Runtime-Deadline-Ms: ",
            str(request.deadline_ms).encode(),
            b"\r\n",
            b"Lambda-Runtime-Invoked-Function-Arn: ",
            request.invoked_function_arn.encode(),
            b"\r\n",
        ]
        if request.trace_id:
            headers += [b"Lambda-Runtime-Trace-Id: ", request.trace_id.encode(), b"\r\n"]
        if request.client_context:
            headers += [
                b"Lambda-Runtime-Client-Context: ",
                request.client_context.encode(),
                b"\r\n",
            ]
        if request.cognito_identity:
            headers += [
                b"Lambda-Runtime-Cognito-Identity: ",
                request.cognito_identity.encode(),
                b"\r\n",
            ]
        headers += [
            b"Content-Length: ",
            str(len(request.payload)).encode(),
            b"\r\n\r\n",
            request.payload,
        ]
        conn.respond(b"".join(headers))

    def abandon(self) -> None:
        """The host gave up on the current invocation (timeout, exit): forget it."""
        self._reply = None
        self._pending = None

    def _finish(self, reply: RuntimeReply) -> None:
        self._current = None
        future, self._reply = self._reply, None
        if future is not None and not future.done():
            future.set_result(reply)

    # -- requests -------------------------------------------------------------------------

    def handle(
        self,
        conn: _Connection,
        method: bytes,
        url: bytes,
        body: bytes,
        error_type: str,
        oversized: bool,
    ) -> bytes | None:
        """Answer one request; None means the connection is parked (long-poll /next)."""
        if not url.startswith(PREFIX):
            return _error(404, "InvalidURL", "Not Found")
        path = url[len(PREFIX) :].split(b"?", 1)[0]
        try:
            if path == b"invocation/next" and method == b"GET":
                return self._next(conn)
            if path == b"init/error" and method == b"POST":
                self.state = transition(self.state, RuntimeEvent.INIT_ERROR)
                self._on_init(
                    FunctionFailed(body=b"" if oversized else body, error_type=error_type)
                )
                return _error_too_large() if oversized else _ACCEPTED
            parts = path.split(b"/")
            if len(parts) == 3 and parts[0] == b"invocation" and method == b"POST":
                return self._answer(
                    parts[1].decode(errors="replace"), parts[2], body, error_type, oversized
                )
        except InvalidStateTransition as exc:
            return _error(403, "InvalidStateTransition", str(exc))
        return _error(404, "InvalidURL", "Not Found")

    def _next(self, conn: _Connection) -> bytes | None:
        first = self.state is RuntimeState.STARTED
        self.state = transition(self.state, RuntimeEvent.NEXT)
        self._parked = conn
        if first:
            self._on_init(Ok())
        if self._pending is not None:
            request, self._pending = self._pending, None
            self._deliver(request)
        return None

    def _answer(
        self, request_id: str, kind: bytes, body: bytes, error_type: str, oversized: bool
    ) -> bytes:
        if kind not in (b"response", b"error"):
            return _error(404, "InvalidURL", "Not Found")
        if self._current is None or request_id != self._current.request_id:
            if self.state is not RuntimeState.INVOKING:
                event = RuntimeEvent.RESPONSE if kind == b"response" else RuntimeEvent.ERROR
                raise InvalidStateTransition(self.state, event)
            return _error(400, "InvalidRequestID", "Invalid request ID")
        if kind == b"response":
            self.state = transition(self.state, RuntimeEvent.RESPONSE)
            if oversized:
                # As AWS: the runtime is told 413 and the caller gets a function error.
                self._finish(ResponseTooLarge())
                return _too_large(MAX_RESPONSE_BYTES)
            self._finish(Ok(body=body))
        else:
            self.state = transition(self.state, RuntimeEvent.ERROR)
            self._finish(FunctionFailed(body=b"" if oversized else body, error_type=error_type))
            if oversized:
                return _error_too_large()
        return _ACCEPTED

    def lost(self, conn: _Connection) -> None:
        if self._parked is conn:
            self._parked = None


# Persistence of the connection once a request is answered (see _Connection.respond).
_KEEP = 0  # HTTP/1.1 default: nothing to say
_KEEP_1_0 = 1  # HTTP/1.0 with "Connection: keep-alive": say so, or the client assumes close
_CLOSE = 2  # HTTP/1.0 default or "Connection: close": say so, then close


class _Connection(asyncio.Protocol):
    __slots__ = (
        "_api",
        "_body",
        "_error_type",
        "_expect",
        "_limit",
        "_oversized",
        "_parser",
        "_persistence",
        "_size",
        "_transport",
        "_url",
    )

    def __init__(self, api: RuntimeApi) -> None:
        self._api = api
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._persistence = _KEEP
        self._reset()

    def _reset(self) -> None:
        self._url = b""
        self._body: list[bytes] = []
        self._size = 0
        self._oversized = False
        self._error_type = ""
        self._expect = False
        self._limit = MAX_RESPONSE_BYTES

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, so cast rather than check.
        self._transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        if not self._api.accepts((peer[0], peer[1])):
            log.warning("runtime API: refused a connection from another uid (%s)", peer)
            self._transport.abort()
            self._transport = None

    def data_received(self, data: bytes) -> None:
        if self._transport is None:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            self.write(_error(400, "InvalidRequest", "Malformed HTTP request"))
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._api.lost(self)

    def write(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)

    def respond(self, answer: bytes) -> None:
        """Write the answer to the request just read, then close if that request asked for
        it (HTTP/1.0 without keep-alive, ``Connection: close``)."""
        persistence = self._persistence
        if persistence == _KEEP:
            self.write(answer)  # the hot path: HTTP/1.1 keep-alive, answer unchanged
            return
        # Every answer starts with its status line: the header goes right after it.
        closing = persistence == _CLOSE
        header = b"\r\nConnection: close\r\n" if closing else b"\r\nConnection: keep-alive\r\n"
        self.write(answer.replace(b"\r\n", header, 1))
        if closing:
            self.close()

    def close(self) -> None:
        """Close once what is written has been sent (unlike abort())."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()
            self._transport = None

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._reset()

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        lower = name.lower()
        if lower == b"lambda-runtime-function-error-type":
            self._error_type = value.decode(errors="replace")
        elif lower == b"expect" and value.lower() == b"100-continue":
            self._expect = True

    def on_headers_complete(self) -> None:
        self._limit = body_limit(self._url)
        parser = self._parser
        if not parser.should_keep_alive():
            self._persistence = _CLOSE
        elif parser.get_http_version() == "1.0":
            self._persistence = _KEEP_1_0
        else:
            self._persistence = _KEEP
        # curl waits a second for this before sending a body; an HTTP/1.0 client does not
        # know it (RFC 9110: a server must ignore Expect in an HTTP/1.0 request).
        if self._expect and parser.get_http_version() != "1.0":
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size > self._limit:
            self._oversized = True
            self._body = []
        elif not self._oversized:
            self._body.append(body)

    def on_message_complete(self) -> None:
        method = self._parser.get_method()
        answer = self._api.handle(
            self, method, self._url, b"".join(self._body), self._error_type, self._oversized
        )
        if answer is not None:  # else parked: RuntimeApi._deliver responds later
            self.respond(answer)
