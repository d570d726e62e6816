"""One environment's Runtime API endpoint (``AWS_LAMBDA_RUNTIME_API``), on a bare asyncio
Protocol with httptools: a warm invoke crosses it twice, so it must cost microseconds.

Connections follow HTTP/1.x persistence: an HTTP/1.0 request without ``Connection:
keep-alive``, or any request with ``Connection: close``, is answered and then the connection
is closed, so a runtime that reads to EOF (a bash ``/dev/tcp`` bootstrap, a minimal C runtime)
sees its answer end. That includes a long-polled ``/next``, answered only when an invocation
arrives.

Parsing a connection's requests, and the bounds on every read, are ``runtime_connection``'s.

A streamed response (AWS's "Response streaming for custom runtimes": ``POST .../response``
with ``Lambda-Runtime-Function-Response-Mode: streaming``, chunked, error trailers) is taken
at its head when it answers the current invocation: its bytes go to the invocation's
``ResponseStream`` as they arrive. An invocation whose caller wants one buffered response
(plain Invoke) gets the stream collected, up to the 6 MB limit, as AWS collects it.

Each environment gets its own listening socket. When the environment runs as its own uid,
a connection is accepted only from a socket owned by that uid (looked up once per
connection), so no environment can fetch or answer another's invocations.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from nimbus.model.invocation import InvocationRequest
from nimbus.model.streaming import DEFAULT_STREAM_CONTENT_TYPE
from nimbus.worker import peer_uid
from nimbus.worker.log_format import MAX_RESPONSE_BYTES, error_payload
from nimbus.worker.outcome import (
    FunctionFailed,
    Ok,
    ResponseTooLarge,
    RuntimeReply,
    streamed_reply,
)
from nimbus.worker.response_stream import ResponseStream, StreamEnd
from nimbus.worker.runtime_answers import ACCEPTED as _ACCEPTED
from nimbus.worker.runtime_answers import error as _error
from nimbus.worker.runtime_answers import invalid_response_mode
from nimbus.worker.runtime_answers import too_large as _too_large
from nimbus.worker.runtime_connection import Connection as _Connection
from nimbus.worker.runtime_limits import MAX_ERROR_BYTES, READ_TIMEOUT_S
from nimbus.worker.runtime_limits import body_limit as body_limit  # re-exported
from nimbus.worker.runtime_state import (
    InvalidStateTransition,
    RuntimeEvent,
    RuntimeState,
    allowed,
    transition,
)

log = logging.getLogger(__name__)

PREFIX = b"/2018-06-01/runtime/"


def response_id(url: bytes) -> str | None:
    """The request id of a ``.../invocation/{id}/response`` URL, else None (pure)."""
    if not url.startswith(PREFIX):
        return None
    parts = url[len(PREFIX) :].split(b"?", 1)[0].split(b"/")
    if len(parts) != 3 or parts[0] != b"invocation" or parts[2] != b"response":
        return None
    return parts[1].decode(errors="replace")


def _error_too_large() -> bytes:
    return _too_large(MAX_ERROR_BYTES)


class RuntimeApi:
    def __init__(
        self,
        *,
        bind_host: str,
        expected_uid: int | None,
        on_init: Callable[[Ok | FunctionFailed], None],
        peers: peer_uid.PeerUidLookup | None = None,
        read_timeout_s: float = READ_TIMEOUT_S,
        listen: Callable[[], socket.socket | None] | None = None,
    ) -> None:
        self._bind_host = bind_host
        # Makes the listening socket where only the sandbox can reach it (its own network
        # namespace); None, or a None from it, binds bind_host:0 on the host's network.
        self._listen = listen
        self.read_timeout_s = read_timeout_s
        self.connections = 0  # open connections accepted from the runtime
        self.buffered = 0  # bytes all of them buffer now (see BUFFER_BUDGET)
        self._expected_uid = expected_uid
        self._peers = peers or peer_uid.PeerUidLookup()
        self._on_init = on_init  # Ok: Init succeeded (first /next); else the init error
        self.state = RuntimeState.STARTED
        self._server: asyncio.Server | None = None
        self.port = 0
        self._parked: _Connection | None = None
        # Called when the runtime parks in /next with nothing to deliver: the environment
        # arms its idle freeze then, as AWS freezes once the runtime asks for the next event.
        self.on_parked: Callable[[], None] | None = None
        self._pending: InvocationRequest | None = None  # dispatched before /next came back
        self._current: InvocationRequest | None = None
        self._reply: asyncio.Future[RuntimeReply] | None = None
        self._stream: ResponseStream | None = None  # where the current invocation streams

    @property
    def parked(self) -> bool:
        """Whether the runtime waits in /next (idle, between invocations)."""
        return self._parked is not None

    @property
    def address(self) -> str:
        return f"{self._bind_host}:{self.port}"

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = self._listen() if self._listen is not None else None
        isolated = sock is not None
        if sock is not None:
            # Inside the sandbox's network namespace (127.0.0.1:9001, as on AWS): no other
            # environment can connect, so there is no peer to check either.
            self._bind_host, self._expected_uid = sock.getsockname()[0], None
        else:
            # A socket made here, not by create_server(host, ...): that resolves the host
            # name in a thread, which costs a cold start ~1 ms.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            if not isolated:
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

    def dispatch(
        self,
        request: InvocationRequest,
        reply: asyncio.Future[RuntimeReply],
        stream: ResponseStream | None = None,
    ) -> None:
        """Hand an invocation to the runtime (now if it is parked in /next, else when it is).
        ``stream``: where a streamed response goes as it arrives; None: the caller wants one
        buffered response."""
        self._reply = reply
        self._stream = stream
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
        self._stream = None

    def _finish(self, reply: RuntimeReply) -> None:
        self._current = None
        future, self._reply = self._reply, None
        if future is not None and not future.done():
            future.set_result(reply)

    # -- streamed responses ---------------------------------------------------------------

    def open_stream(
        self, url: bytes, content_type: str, resume: Callable[[], None]
    ) -> ResponseStream | None:
        """Take a streamed response at its head, when it answers the current invocation now;
        anything else (another id, the wrong state, ``/error``) is read whole and refused
        by ``handle`` as any such request is."""
        current = self._current
        request_id = response_id(url)
        if current is None or request_id != current.request_id:
            return None
        if not allowed(self.state, RuntimeEvent.STREAM):
            return None
        self.state = transition(self.state, RuntimeEvent.STREAM)
        stream = self._stream
        buffered = stream is None
        if stream is None:
            # Plain Invoke of a streaming function: collected, within the buffered limit.
            stream = ResponseStream(limit_bytes=MAX_RESPONSE_BYTES, high_water=MAX_RESPONSE_BYTES)
        collected = stream

        def ended(end: StreamEnd) -> None:
            if self.state is RuntimeState.STREAMING:
                self.state = transition(self.state, RuntimeEvent.STREAM_END)
            if self._current is current:
                self._finish(streamed_reply(end, collected.take() if buffered else None))

        stream.on_end = ended
        stream.begin(content_type or DEFAULT_STREAM_CONTENT_TYPE, resume)
        return stream

    # -- requests -------------------------------------------------------------------------

    def handle(
        self,
        conn: _Connection,
        method: bytes,
        url: bytes,
        body: bytes,
        error_type: str,
        oversized: bool,
        *,
        mode: bytes = b"",
    ) -> bytes | None:
        """Answer one request; None means the connection is parked (long-poll /next).
        ``mode``: its Lambda-Runtime-Function-Response-Mode header."""
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
                    parts[1].decode(errors="replace"), parts[2], body, error_type, oversized, mode
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
        elif self.on_parked is not None:
            self.on_parked()
        return None

    def _answer(
        self,
        request_id: str,
        kind: bytes,
        body: bytes,
        error_type: str,
        oversized: bool,
        mode: bytes = b"",
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
            if mode not in (b"", b"streaming"):
                # As the emulator: the invocation fails, the runtime is told 400.
                invalid = "Runtime.InvalidResponseModeHeader"
                self._finish(FunctionFailed(body=error_payload(invalid, ""), error_type=invalid))
                return invalid_response_mode()
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
