"""One connection to an environment's Runtime API: parsing its requests with httptools and
bounding every read, so that no runtime can make the server buffer without limit.

Connections follow HTTP/1.x persistence: an HTTP/1.0 request without ``Connection:
keep-alive``, or any request with ``Connection: close``, is answered and then the connection
is closed (see ``Connection.respond``). Each request is handed whole to the owner (the
``RuntimeApi``), which answers it or parks it (a long-polled ``/next``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Protocol, cast

import httptools

from nimbus.worker.log_format import MAX_RESPONSE_BYTES

log = logging.getLogger(__name__)

# The Runtime Interface Emulator caps what the runtime may post to /init/error and
# /invocation/{id}/error at 1 MiB (http.MaxBytesHandler around both) and answers a larger
# body 413 RequestEntityTooLarge. Nimbus answers the same; the invocation (or Init) still
# ends as a function error, with the error type and without the oversized body.
MAX_ERROR_BYTES = 1024 * 1024

# Every read is bounded, so that no runtime can make the server buffer without limit (the
# event loop, and so every other function, would pay for it). AWS's Runtime API is a Go
# net/http server: it refuses a request line plus headers over http.DefaultMaxHeaderBytes
# (1 MiB, plus the 4,096 bytes of slack net/http allows) with 431. Real runtimes stay far
# below every limit here: their URLs are under 120 bytes (.../invocation/{uuid}/response),
# they send under 10 headers, and the largest, awslambdaric's
# Lambda-Runtime-Function-XRay-Error-Cause, is kept under 1 MiB by the runtime itself.
# Go itself would accept a URL up to the whole MaxHeaderBytes; 8 KiB (then 414, as nginx and
# Apache refuse a longer request line) is Nimbus's own, tighter limit. It is safe because no
# runtime sends such a URL: the longest the Runtime API defines is under 120 bytes.
MAX_URL_BYTES = 8 * 1024
MAX_HEAD_BYTES = (1 << 20) + 4096  # request line + headers, Go's MaxHeaderBytes + slack: 431
MAX_HEADERS = 100  # http.client's own _MAXHEADERS: 431
# Connections one environment may hold open at once (a runtime uses one or two; AWS's
# sandbox cannot open thousands either: its RLIMIT_NOFILE is 1,024). Further ones are
# closed as soon as they are accepted.
MAX_CONNECTIONS = 16
# What one environment's connections may buffer in all (request heads and bodies): one
# response at the limit, one head at the limit and room for small requests.
BUFFER_BUDGET = MAX_RESPONSE_BYTES + MAX_HEAD_BYTES + 1024 * 1024
# A request that has begun but not ended this long after its first byte is dropped, with
# what it had buffered. AWS's Runtime API (Go's net/http with no ReadTimeout) has no such
# bound: this one is Nimbus's, so that a runtime cannot pin buffered bytes for ever. It is
# generous for a runtime on the same machine (loopback delivers a 6 MB response in
# milliseconds), but a runtime that trickles a response for longer than this loses it,
# where AWS would wait for the invocation's timeout.
READ_TIMEOUT_S = 10.0
# After refusing a request the server stops sending and reads (and drops) what the client is
# still sending for a short while, so the client sees the answer rather than a reset: the
# "lingering close" of Go's net/http (closeWriteAndWait, 500 ms) and Apache.
LINGER_S = 0.5
LINGER_BYTES = MAX_HEAD_BYTES


def status_line(status: int) -> bytes:
    reason = {
        200: "OK",
        202: "Accepted",
        400: "Bad Request",
        403: "Forbidden",
        404: "Not Found",
        413: "Request Entity Too Large",
        414: "URI Too Long",
        431: "Request Header Fields Too Large",
    }.get(status, "Error")
    return f"HTTP/1.1 {status} {reason}\r\n".encode()


def json_response(status: int, body: dict[str, str]) -> bytes:
    raw = json.dumps(body).encode()
    return (
        status_line(status)
        + b"Content-Type: application/json\r\nContent-Length: "
        + str(len(raw)).encode()
        + b"\r\n\r\n"
        + raw
    )


def error(status: int, error_type: str, message: str) -> bytes:
    """An answer in the Runtime API's error shape."""
    return json_response(status, {"errorMessage": message, "errorType": error_type})


def _uri_too_long() -> bytes:
    return error(414, "RequestURITooLong", f"Request URI exceeds {MAX_URL_BYTES} bytes.")


def _head_too_large(message: str) -> bytes:
    return error(431, "RequestHeaderFieldsTooLarge", message)


def body_limit(url: bytes) -> int:
    """How much of a request body the Runtime API keeps: error posts are capped lower than
    responses (pure)."""
    return MAX_ERROR_BYTES if url.split(b"?", 1)[0].endswith(b"/error") else MAX_RESPONSE_BYTES


class ConnectionOwner(Protocol):
    """What a connection needs of the Runtime API it belongs to."""

    connections: int  # open connections accepted from the runtime
    buffered: int  # bytes all of them buffer now (see BUFFER_BUDGET)
    read_timeout_s: float

    def accepts(self, peer: tuple[str, int]) -> bool: ...

    def handle(
        self,
        conn: Connection,
        method: bytes,
        url: bytes,
        body: bytes,
        error_type: str,
        oversized: bool,
    ) -> bytes | None: ...

    def lost(self, conn: Connection) -> None: ...


# Persistence of the connection once a request is answered (see Connection.respond).
_KEEP = 0  # HTTP/1.1 default: nothing to say
_KEEP_1_0 = 1  # HTTP/1.0 with "Connection: keep-alive": say so, or the client assumes close
_CLOSE = 2  # HTTP/1.0 default or "Connection: close": say so, then close


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing a request that is over a limit."""


class Connection(asyncio.Protocol):
    __slots__ = (
        "_api",
        "_body",
        "_counted",
        "_due",
        "_error_type",
        "_expect",
        "_head",
        "_headers",
        "_held",
        "_in_head",
        "_in_message",
        "_limit",
        "_lingered",
        "_oversized",
        "_parser",
        "_persistence",
        "_refused",
        "_size",
        "_timer",
        "_transport",
        "_url",
    )

    def __init__(self, api: ConnectionOwner) -> None:
        self._api = api
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._persistence = _KEEP
        self._counted = False  # counted in api.connections
        self._due: bytes | None = None  # the refusal a parser callback decided on
        self._refused = False  # answered a request over a limit: only lingering now
        self._lingered = 0  # bytes dropped since
        self._held = 0  # what this connection counts in api.buffered
        self._timer: asyncio.TimerHandle | None = None
        self._in_head = False
        self._in_message = False
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
                self._refuse(_head_too_large(f"Request head exceeds {MAX_HEAD_BYTES} bytes."))
                return
            if not self._hold(len(data)):
                return
        if self._in_message and self._timer is None and self._transport is not None:
            # Only a request that spans reads gets a timer: the warm path never pays for one.
            self._timer = asyncio.get_running_loop().call_later(
                self._api.read_timeout_s, self._read_timed_out
            )

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
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
        self._stop_timer()
        self._release()
        transport = self._transport
        if transport is None:
            return
        transport.write(answer.replace(b"\r\n", b"\r\nConnection: close\r\n", 1))
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
            self._due = _uri_too_long()
            raise _Refused
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers += 1
        if self._headers > MAX_HEADERS:
            self._due = _head_too_large(f"Request has more than {MAX_HEADERS} headers.")
            raise _Refused
        lower = name.lower()
        if lower == b"lambda-runtime-function-error-type":
            self._error_type = value.decode(errors="replace")
        elif lower == b"expect" and value.lower() == b"100-continue":
            self._expect = True

    def on_headers_complete(self) -> None:
        self._in_head = False
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
        method = self._parser.get_method()
        body = b"".join(self._body)
        self._body = []
        self._release()
        answer = self._api.handle(self, method, self._url, body, self._error_type, self._oversized)
        if answer is not None:  # else parked: RuntimeApi._deliver responds later
            self.respond(answer)
