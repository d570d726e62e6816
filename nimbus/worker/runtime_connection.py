"""One connection to an environment's Runtime API: parsing its requests with httptools and
bounding every read, so that no runtime can make the server buffer without limit.

Connections follow HTTP/1.x persistence (``runtime_persistence``, ``Connection.respond``).
Each request is handed whole to the owner (the ``RuntimeApi``), which answers it or parks it
(a long-polled ``/next``) — except a streamed response
(``Lambda-Runtime-Function-Response-Mode: streaming``) the owner takes at its head: its body
goes to a ``ResponseStream`` as it arrives, with no read timeout (the function's own deadline
bounds it), and reading pauses while the stream's reader is behind. Its error trailers are
read, bounded like a head.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Protocol, cast

import httptools

from nimbus.worker.log_format import MAX_RESPONSE_BYTES
from nimbus.worker.response_stream import EndKind, Flow, ResponseStream, StreamEnd, trailer_body
from nimbus.worker.runtime_answers import (
    ACCEPTED,
    error,
    head_too_large,
    too_large,
    uri_too_long,
)
from nimbus.worker.runtime_limits import (
    BUFFER_BUDGET,
    LINGER_BYTES,
    LINGER_S,
    MAX_CONNECTIONS,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    MAX_TRAILER_BYTES,
    MAX_URL_BYTES,
    body_limit,
)
from nimbus.worker.runtime_persistence import CLOSE, KEEP, announced, persistence_of

log = logging.getLogger(__name__)


class ConnectionOwner(Protocol):
    """What a connection needs of the Runtime API it belongs to."""

    connections: int  # open connections accepted from the runtime
    buffered: int  # bytes all of them buffer now (see BUFFER_BUDGET)
    read_timeout_s: float

    def accepts(self, peer: tuple[str, int]) -> bool: ...

    def open_stream(
        self, url: bytes, content_type: str, resume: Callable[[], None]
    ) -> ResponseStream | None:
        """The stream a streamed POST to ``url`` writes to, begun; None: not one the owner
        takes (buffered and handed over whole like any request)."""

    def handle(
        self,
        conn: Connection,
        method: bytes,
        url: bytes,
        body: bytes,
        error_type: str,
        oversized: bool,
        *,
        mode: bytes = b"",
    ) -> bytes | None: ...

    def lost(self, conn: Connection) -> None: ...


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing a request that is over a limit."""


class Connection(asyncio.Protocol):
    __slots__ = (
        "_api",
        "_body",
        "_content_type",
        "_counted",
        "_due",
        "_error_type",
        "_expect",
        "_fed",
        "_framing",
        "_head",
        "_head_ended",
        "_headers",
        "_held",
        "_in_head",
        "_in_message",
        "_limit",
        "_lingered",
        "_mode",
        "_oversized",
        "_parser",
        "_paused",
        "_persistence",
        "_refused",
        "_size",
        "_stream",
        "_timer",
        "_trailer_body",
        "_trailer_type",
        "_transport",
        "_url",
    )

    def __init__(self, api: ConnectionOwner) -> None:
        self._api = api
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._persistence = KEEP  # once a request is answered (see respond)
        self._counted = False  # counted in api.connections
        self._due: bytes | None = None  # the refusal a parser callback decided on
        self._refused = False  # answered a request over a limit: only lingering now
        self._lingered = 0  # bytes dropped since
        self._held = 0  # what this connection counts in api.buffered
        self._timer: asyncio.TimerHandle | None = None
        self._in_head = False
        self._in_message = False
        self._stream: ResponseStream | None = None  # the streamed response being read
        self._paused = False
        self._fed = 0  # body bytes the current read delivered
        self._head_ended = False  # the current read ended a request head
        self._reset()

    def _reset(self) -> None:
        self._url = b""
        self._body: list[bytes] = []
        self._size = 0
        self._head = 0
        self._headers = 0
        self._oversized = False
        self._error_type = ""
        self._expect = False
        self._limit = MAX_RESPONSE_BYTES
        self._mode = b""  # Lambda-Runtime-Function-Response-Mode
        self._content_type = b""
        self._trailer_type = ""  # the Lambda-Runtime-Function-Error-Type trailer
        self._trailer_body = b""  # the Lambda-Runtime-Function-Error-Body trailer (base64)
        self._framing = 0  # bytes read since the last body byte, once the head is done

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, so cast rather than check.
        self._transport = cast(asyncio.Transport, transport)
        api = self._api
        if api.connections >= MAX_CONNECTIONS:
            # Checked before the peer lookup: a flood of connections costs an accept and a
            # close each, nothing more.
            self._transport.abort()
            self._transport = None
            return
        peer = transport.get_extra_info("peername")
        if not api.accepts((peer[0], peer[1])):
            log.warning("runtime API: refused a connection from another uid (%s)", peer)
            self._transport.abort()
            self._transport = None
            return
        api.connections += 1
        self._counted = True

    def data_received(self, data: bytes) -> None:
        if self._transport is None:
            return
        if self._refused:
            self._lingered += len(data)  # dropped unread
            if self._lingered > LINGER_BYTES:
                self.abort()
            return
        self._fed = 0
        self._head_ended = False
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            if self._due is not None:
                self._refuse(self._due)
            elif self._transport is not None:  # else a callback already dropped it
                self.write(error(400, "InvalidRequest", "Malformed HTTP request"))
                self.abort()
            return
        if self._in_head:
            # The head is unfinished after this read, so the read was all head (or, when it
            # also ended a pipelined request, partly that one's): counted before httptools,
            # which keeps a header whole until it ends, has buffered more than the limit.
            self._head += len(data)
            if self._head > MAX_HEAD_BYTES:
                self._refuse(head_too_large(f"Request head exceeds {MAX_HEAD_BYTES} bytes."))
                return
            if not self._hold(len(data)):
                return
        elif self._in_message and not self._head_ended:
            # After the head (a read that ended one is the head's), whatever is not body is
            # framing and trailers: bounded too.
            framing = len(data) - self._fed
            self._framing = framing if self._fed else self._framing + framing
            if self._framing > MAX_TRAILER_BYTES:
                self._refuse(head_too_large(f"Request trailers exceed {MAX_TRAILER_BYTES} bytes."))
                return
        if (
            self._in_message
            and self._timer is None
            and self._transport is not None
            and self._stream is None
        ):
            # Only a request that spans reads gets a timer: the warm path never pays for one.
            self._timer = asyncio.get_running_loop().call_later(
                self._api.read_timeout_s, self._read_timed_out
            )

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._cut_stream()
        self._stop_timer()
        self._release()
        self._body = []
        if self._counted:
            self._counted = False
            self._api.connections -= 1
        self._api.lost(self)

    def write(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)

    def respond(self, answer: bytes) -> None:
        """Write the answer to the request just read, then close if that request asked for
        it (HTTP/1.0 without keep-alive, ``Connection: close``)."""
        persistence = self._persistence
        if persistence == KEEP:
            self.write(answer)  # the hot path: HTTP/1.1 keep-alive, answer unchanged
            return
        self.write(announced(answer, persistence))
        if persistence == CLOSE:
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

    def resume_reading(self) -> None:
        """The stream's reader caught up: read the runtime again."""
        if self._paused and self._transport is not None:
            self._paused = False
            self._transport.resume_reading()

    def _cut_stream(self) -> None:
        """A streamed response that will not end now ends cut short."""
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.finish(StreamEnd(kind=EndKind.TRUNCATED))

    # -- limits ---------------------------------------------------------------------------

    def _hold(self, size: int) -> bool:
        """Count ``size`` more buffered bytes against the environment's budget; over it, the
        connection is dropped (False)."""
        self._held += size
        api = self._api
        api.buffered += size
        if api.buffered <= BUFFER_BUDGET:
            return True
        log.warning("runtime API: a runtime's requests buffer over %d bytes", BUFFER_BUDGET)
        self._body = []
        self.abort()
        return False

    def _release(self) -> None:
        self._api.buffered -= self._held
        self._held = 0

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _read_timed_out(self) -> None:
        self._timer = None
        if self._in_message:
            log.warning(
                "runtime API: dropped a request unfinished after %ss", self._api.read_timeout_s
            )
            self._body = []
            self.abort()

    def _refuse(self, answer: bytes) -> None:
        """Answer a request that is over a limit and end the connection. Nothing more of it
        is parsed or kept; what the client still sends is read and dropped for a moment
        (see LINGER_S), then the connection is dropped."""
        self._refused = True
        self._due = None
        self._body = []
        self._url = b""
        self._cut_stream()
        self._stop_timer()
        self._release()
        transport = self._transport
        if transport is None:
            return
        transport.write(announced(answer, CLOSE))
        if transport.can_write_eof():
            transport.write_eof()
            self._timer = asyncio.get_running_loop().call_later(LINGER_S, self.abort)
        else:
            self.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self._reset()
        self._in_message = True
        self._in_head = True

    def on_url(self, url: bytes) -> None:
        if len(self._url) + len(url) > MAX_URL_BYTES:
            self._due = uri_too_long(MAX_URL_BYTES)
            raise _Refused
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers += 1  # trailers count too
        if self._headers > MAX_HEADERS:
            self._due = head_too_large(f"Request has more than {MAX_HEADERS} headers.")
            raise _Refused
        lower = name.lower()
        if not self._in_head:  # a trailer, after a chunked body's last chunk
            if lower == b"lambda-runtime-function-error-type":
                self._trailer_type = value.decode(errors="replace")
            elif lower == b"lambda-runtime-function-error-body":
                self._trailer_body = value
        elif lower == b"lambda-runtime-function-error-type":
            self._error_type = value.decode(errors="replace")
        elif lower == b"lambda-runtime-function-response-mode":
            self._mode = value
        elif lower == b"content-type":
            self._content_type = value
        elif lower == b"expect" and value.lower() == b"100-continue":
            self._expect = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_ended = True
        self._limit = body_limit(self._url)
        parser = self._parser
        self._persistence = persistence_of(parser.should_keep_alive(), parser.get_http_version())
        # curl waits a second for this before sending a body; an HTTP/1.0 client does not
        # know it (RFC 9110: a server must ignore Expect in an HTTP/1.0 request).
        if self._expect and parser.get_http_version() != "1.0":
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if self._mode == b"streaming" and parser.get_method() == b"POST":
            content_type = self._content_type.decode(errors="replace")
            self._stream = self._api.open_stream(self._url, content_type, self.resume_reading)
            if self._stream is not None:
                self._stop_timer()  # the function's deadline bounds a stream, not READ_TIMEOUT_S

    def on_body(self, body: bytes) -> None:
        self._fed += len(body)
        stream = self._stream
        if stream is not None:
            decision = stream.write(body)
            if decision is Flow.PAUSE and self._transport is not None:
                self._paused = True
                self._transport.pause_reading()
            elif decision is Flow.STOP:  # past the limit: the stream has ended
                self._due = too_large(stream.limit_bytes)
                raise _Refused
            return
        self._size += len(body)
        if self._size > self._limit:
            if not self._oversized:
                self._oversized = True
                self._body = []
                self._release()
        elif not self._oversized:
            if not self._hold(len(body)):
                raise _Refused  # dropped: stop parsing
            self._body.append(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        self._stop_timer()
        stream, self._stream = self._stream, None
        if stream is not None:
            errors = trailer_body(self._trailer_body)
            stream.finish(StreamEnd(error_type=self._trailer_type, error_body=errors))
            self.respond(ACCEPTED)
            return
        method = self._parser.get_method()
        body = b"".join(self._body)
        self._body = []
        self._release()
        answer = self._api.handle(
            self, method, self._url, body, self._error_type, self._oversized, mode=self._mode
        )
        if answer is not None:  # else parked: RuntimeApi._deliver responds later
            self.respond(answer)
