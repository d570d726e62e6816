"""uvicorn's httptools protocol, with each response leaving in one ``send()`` and request
heads bounded as AWS bounds them.

uvicorn writes a response's head and body with two ``transport.write`` calls, and uvloop sends
each at once: two system calls, two TCP segments and two wake-ups of the client per response.
On loopback that was the largest single cost of a warm invoke or an SQS call (py-spy under
wrk). Writes made during one step of the event loop are joined and sent at the end of it.

httptools (llhttp) has no limit on a request's head: it buffers a header of any size until the
header ends, and uvicorn keeps every header. AWS's front door refuses large heads: API
Gateway's documented quota is 10,240 bytes for the request line and headers together
(https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html), and its hosts
forward at most 200 headers (https://docs.aws.amazon.com/waf/latest/APIReference/
API_HeaderOrder.html). A head beyond either is answered 431 and the connection closed, before
any of it reaches the application.

The server keeps a reserve of file descriptors below its RLIMIT_NOFILE for what cold starts
need (pipes, sockets, cgroup files): once a newly accepted connection's descriptor is within
the reserve of the limit, that connection is answered 429 TooManyRequestsException (Lambda's
throttle, which SDKs retry with back-off) and closed, instead of serving it and letting the
next cold start fail. Checking costs nothing: the kernel hands out the lowest free descriptor,
so a descriptor numbered N means N others are open already.

Holding connections open must not reach that reserve either (a slowloris client; isolated
functions reach the API from their own 100.64.x.y addresses, which the gateway's DNAT keeps,
with 1,024 descriptors each). So a request head must be complete within HEAD_TIMEOUT_S of
the read that began it (else 408 and close); a connection that has sent nothing yet is
closed after uvicorn's keep-alive timeout, as one idle between requests is (one timer per
connection, armed when it is accepted and cancelled at its first byte); and an isolated
function's address holds at most MAX_CONNECTIONS_PER_SOURCE connections at once, further ones
answered 429 like a shortage of descriptors. The head timer is armed only when a head spans
reads, so a request that arrives in one read (every SDK's) pays for no timer of its own.
"""

from __future__ import annotations

import asyncio
import ipaddress
import resource
import uuid
from typing import Any, Final

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

MAX_HEAD_BYTES: Final = 10_240  # request line + header names and values
MAX_HEADERS: Final = 200
RETRY_AFTER_S: Final = 1
# Connections accepted while short stay only to be answered 429: at most this many at once,
# each at most REFUSAL_WAIT_S for its request; beyond, they are closed unanswered, so that
# refusing never eats the reserve it protects.
MAX_REFUSALS: Final = 16
REFUSAL_WAIT_S: Final = 1.0
# Go's http.Server has no default ReadHeaderTimeout, but nothing legitimate needs long for a
# head of at most 10 KiB: a generous bound of Nimbus's own.
HEAD_TIMEOUT_S: Final = 10.0
# Connections one isolated function's address may hold: its SDK clients use a pool of 10
# (botocore's max_pool_connections) or so. Other addresses are not capped (capped_source).
MAX_CONNECTIONS_PER_SOURCE: Final = 64


class Refusals:
    """How many connections are waiting to be answered 429 (one count per server)."""

    def __init__(self) -> None:
        self.open = 0


def descriptor_ceiling(soft_limit: int, reserve: int) -> int | None:
    """The highest descriptor number a connection may have, keeping ``reserve`` below the
    soft RLIMIT_NOFILE (pure); None when there is no limit. The reserve is at most a quarter
    of the limit, so a low limit still leaves room to serve."""
    if soft_limit == resource.RLIM_INFINITY or soft_limit <= 0:
        return None
    return soft_limit - 1 - min(max(reserve, 0), soft_limit // 4)


def capped_source(host: str | None, capped: ipaddress.IPv4Network | None) -> str | None:
    """The address a connection from ``host`` counts against for the per-source cap, or
    None for one that is not capped (pure). Only isolated functions' addresses are capped
    (``capped``, the function network the composition root names; also written IPv4-mapped
    by a dual-stack listener): each is one
    environment. Any other address may stand for many clients — a reverse proxy's, or
    docker-proxy's for every client of a published port — and capping it would throttle
    all of them together; loopback and Unix sockets (None) are this machine's own."""
    if host is None or capped is None:
        return None
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address) if address in capped else None


class HeadTooLarge(Exception):
    """Raised inside a parser callback to stop parsing a head that is over the limits."""


class CoalescingTransport:
    """A transport whose writes within one event-loop step go out as one ``write``."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._buffer: list[bytes] = []
        self._scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer.append(bytes(data))
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        self._scheduled = False
        if self._buffer:
            data = b"".join(self._buffer)
            self._buffer.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()  # what was written before close() must still leave
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    # Heads are measured from what uvicorn already keeps (``self.url``, ``self.headers``),
    # once per request when the head completes, and once per read only while a head spans
    # reads: overriding httptools' per-header callbacks instead cost 15-20% of the accept
    # throughput of small requests (bench.async_accept).
    _in_head = False  # a head has begun and not yet completed
    _heads_begun = 0  # to tell a read that ends one head and starts another
    _pending = 0  # raw bytes of a header still arriving, not yet delivered to uvicorn
    _refusal: str | None = None
    _short = False  # accepted while the server is short of descriptors: answered 429
    _short_timer: asyncio.TimerHandle | None = None
    _head_timer: asyncio.TimerHandle | None = None  # armed while a head spans reads
    _source: str | None = None  # the address this connection counts against in per_source
    # Set by with_fd_reserve() on a subclass; None: no check.
    fd_ceiling: int | None = None
    refusals = Refusals()
    per_source: dict[str, int] | None = None  # open connections per capped address
    max_per_source = MAX_CONNECTIONS_PER_SOURCE
    capped_network: ipaddress.IPv4Network | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(coalescing)  # type: ignore[arg-type]
        ceiling = self.fd_ceiling
        if ceiling is not None:
            sock = transport.get_extra_info("socket")
            if sock is not None and sock.fileno() > ceiling:
                self._refuse_short(transport)
                return
        counts = self.per_source
        if counts is not None:
            source = capped_source(self.client[0] if self.client else None, self.capped_network)
            if source is not None:
                held = counts.get(source, 0)
                if held >= self.max_per_source:
                    self._refuse_short(transport)
                    return
                counts[source] = held + 1
                self._source = source
        # uvicorn arms its keep-alive timer only after a response, so a connection that never
        # sends a byte would be held for ever: it gets the same bound (one timer per
        # connection, which uvicorn cancels at the first byte).
        self.timeout_keep_alive_task = self.loop.call_later(
            self.timeout_keep_alive, self.timeout_keep_alive_handler
        )

    def _refuse_short(self, transport: asyncio.Transport) -> None:
        refusals = self.refusals
        if refusals.open >= MAX_REFUSALS:
            transport.abort()
            return
        refusals.open += 1
        self._short = True
        self._short_timer = self.loop.call_later(REFUSAL_WAIT_S, transport.abort)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._short:
            self._short = False
            self.refusals.open -= 1
            if self._short_timer is not None:
                self._short_timer.cancel()
        source, counts = self._source, self.per_source
        if source is not None and counts is not None:
            self._source = None
            left = counts.get(source, 1) - 1
            if left > 0:
                counts[source] = left
            else:
                counts.pop(source, None)
        self._stop_head_timer()
        # uvicorn cancels its keep-alive timer only on a clean close.
        self._unset_keepalive_if_required()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refusal is not None:
            return  # answered and closing: nothing more is read
        if self._short:
            # What the client sent is read (so closing sends no reset), never parsed.
            self._refusal = "Rate exceeded."
            if self._short_timer is not None:
                self._short_timer.cancel()
            self._throttle()
            return
        continuing = self._in_head
        if not continuing:
            super().data_received(data)
            if self._in_head and self._refusal is None:
                self._pending = 0  # a head began in this read and is still unfinished
                self._check_unfinished()
            return
        begun, before = self._heads_begun, self._delivered()
        super().data_received(data)
        if self._in_head and self._refusal is None:
            # The head is still unfinished after this read. A header still being received
            # counts before it ends (httptools would buffer it whole first): a read in which
            # the parser delivered nothing is all pending header. After a read in which it did
            # deliver something, the undelivered remainder's size is unknown, so counting
            # starts again from the next read (a refusal comes at most one read late, but a
            # byte is never counted twice).
            same = begun == self._heads_begun and self._delivered() == before
            self._pending = self._pending + len(data) if same else 0
            self._check_unfinished()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._heads_begun += 1

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._head_timer is not None:
            self._stop_head_timer()
        if len(self.headers) > MAX_HEADERS:
            self._stop(self._too_many_message())
        if self._delivered() > MAX_HEAD_BYTES:
            self._stop(self._too_large_message())
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse — also how a parser callback that
        stopped an oversized head ends up here: then 431, otherwise 400. Both carry a request
        id, as every response does."""
        if self._refusal is not None:
            self._write_and_close(431, self._refusal)
        else:
            self._write_and_close(400, msg)

    def _delivered(self) -> int:
        """Bytes of the request line and headers the parser has handed to uvicorn so far."""
        return len(self.url) + sum(len(name) + len(value) for name, value in self.headers)

    def _check_unfinished(self) -> None:
        if len(self.headers) > MAX_HEADERS:
            self._refuse(self._too_many_message())
        elif self._delivered() + self._pending > MAX_HEAD_BYTES:
            self._refuse(self._too_large_message())
        elif self._head_timer is None:
            # The head spans reads: from the read that began it, it has HEAD_TIMEOUT_S.
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT_S, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and self._refusal is None and not self.transport.is_closing():
            self._refusal = f"Request head not received within {HEAD_TIMEOUT_S:g} s."
            self._write_and_close(408, self._refusal)

    def _too_many_message(self) -> str:
        return f"Request has more than {MAX_HEADERS} headers."

    def _too_large_message(self) -> str:
        return f"Request line and headers exceed {MAX_HEAD_BYTES} bytes."

    def _stop(self, message: str) -> None:
        self._refusal = message
        raise HeadTooLarge(message)  # httptools ends feed_data with HttpParserCallbackError

    def _refuse(self, message: str) -> None:
        self._refusal = message
        self._write_and_close(431, message)

    def _throttle(self) -> None:
        """Lambda's throttle, in its restJson error shape (botocore reads the code from
        X-Amzn-ErrorType, JSON protocols from __type), with its modelled Retry-After."""
        self._write_and_close(
            429,
            "Rate exceeded.",
            extra=(
                b"x-amzn-errortype: TooManyRequestsException\r\n"
                b"retry-after: " + str(RETRY_AFTER_S).encode() + b"\r\n"
            ),
            body=(
                b'{"Type":"User","message":"Rate exceeded.",'
                b'"__type":"TooManyRequestsException",'
                b'"retryAfterSeconds":"' + str(RETRY_AFTER_S).encode() + b'"}'
            ),
        )

    def _write_and_close(
        self, status: int, message: str, *, extra: bytes = b"", body: bytes = b""
    ) -> None:
        if not body:
            # Refused before routing (400: unparseable; 431: head too large), so which API the
            # request was for is unknown: the error is named for restJson (header) and the
            # JSON protocols (__type) alike, as Lambda's InvalidRequestContentException ("a
            # request header is invalid") — an SDK reads it as a modelled error, not a bare 4xx.
            extra += b"x-amzn-errortype: InvalidRequestContentException\r\n"
            text = message.replace('"', "'")
            body = (
                '{"Type":"User","message":"' + text + '","__type":"InvalidRequestContentException"}'
            ).encode()
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                extra,
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode() + b"\r\n",
                b"x-amzn-requestid: " + str(uuid.uuid4()).encode() + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(head))
        self.transport.close()


def with_fd_reserve(
    reserve: int,
    *,
    capped_network: str | None = None,
    max_per_source: int = MAX_CONNECTIONS_PER_SOURCE,
) -> type[CoalescingHttpToolsProtocol]:
    """The protocol class that keeps ``reserve`` descriptors free below this process's soft
    RLIMIT_NOFILE (read now, when the server starts), and lets each address of
    ``capped_network`` (isolated functions' addresses) hold at most ``max_per_source``
    connections (``capped_source``)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    ceiling = descriptor_ceiling(soft, reserve)
    return type(
        "ReservingHttpToolsProtocol",
        (CoalescingHttpToolsProtocol,),
        {
            "fd_ceiling": ceiling,
            "refusals": Refusals(),
            "per_source": {},
            "max_per_source": max_per_source,
            "capped_network": (
                None if capped_network is None else ipaddress.IPv4Network(capped_network)
            ),
        },
    )
