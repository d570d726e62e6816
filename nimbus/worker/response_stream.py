"""One invocation's streamed response, between the Runtime API (which writes what the
runtime sends, as it arrives) and whoever streams it on (which reads it).

Bounded both ways: at most ``high_water`` bytes wait unread (past it the runtime's connection
stops being read until the reader catches up, so a fast function and a slow client cost the
server that much and no more), and at most ``limit_bytes`` are streamed in all: AWS streams
responses up to 200 MB ("Response streaming for Lambda functions"; 20 MB until July 2025) and
ends a longer one with ``Function.ResponseSizeTooLarge``. A reader that goes away abandons
the stream: what the function still writes is dropped, never waited for.

The decisions are pure (``flow``); the class is the thin shell around a byte queue.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_STREAM_BYTES = 200 * 1024 * 1024
HIGH_WATER = 1024 * 1024


class Flow(enum.Enum):
    MORE = "more"  # keep reading the runtime
    PAUSE = "pause"  # stop reading until resumed: the reader is behind
    STOP = "stop"  # over the size limit: the stream has ended, refuse the rest


class EndKind(enum.Enum):
    COMPLETE = "complete"  # the runtime ended its chunked body (error trailers or none)
    TOO_LARGE = "too_large"  # past limit_bytes
    TRUNCATED = "truncated"  # the body never ended: connection lost, malformed, timed out


@dataclass(frozen=True, kw_only=True)
class StreamEnd:
    kind: EndKind = EndKind.COMPLETE
    # The runtime's error trailers (Lambda-Runtime-Function-Error-Type / -Error-Body, the
    # body base64-decoded); empty when it sent none.
    error_type: str = ""
    error_body: bytes = b""


def trailer_body(raw: bytes) -> bytes:
    """The Lambda-Runtime-Function-Error-Body trailer's error document: AWS defines it as
    base64; one that is not is kept as sent rather than lost."""
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return raw


def flow(*, total: int, queued: int, limit: int, high_water: int) -> Flow:
    """What the Runtime API does after a write brought the stream to ``total`` bytes, of
    which ``queued`` wait unread."""
    if total > limit:
        return Flow.STOP
    if queued > high_water:
        return Flow.PAUSE
    return Flow.MORE


class ResponseStream:
    def __init__(self, *, limit_bytes: int = MAX_STREAM_BYTES, high_water: int = HIGH_WATER):
        self._limit = limit_bytes
        self._high_water = high_water
        self._queue: deque[bytes] = deque()
        self._queued = 0
        self.total = 0  # bytes accepted for the reader (never more than the limit)
        self.content_type: str | None = None  # set when the runtime begins streaming
        self.end: StreamEnd | None = None
        self._abandoned = False
        self._paused = False
        self._resume: Callable[[], None] = lambda: None
        self._changed: asyncio.Event = asyncio.Event()
        # Called once when the stream ends (the Runtime API moves the runtime on).
        self.on_end: Callable[[StreamEnd], None] | None = None

    @property
    def began(self) -> bool:
        return self.content_type is not None

    @property
    def limit_bytes(self) -> int:
        return self._limit

    # -- the writer: the Runtime API ------------------------------------------------------

    def begin(self, content_type: str, resume: Callable[[], None]) -> None:
        """The runtime began a streamed response; ``resume`` restarts reading it after a
        PAUSE."""
        self.content_type = content_type
        self._resume = resume
        self._changed.set()

    def write(self, data: bytes) -> Flow:
        if self.end is not None or self._abandoned:
            return Flow.MORE  # nobody reads it any more: dropped
        decision = flow(
            total=self.total + len(data),
            queued=self._queued + len(data),
            limit=self._limit,
            high_water=self._high_water,
        )
        if decision is Flow.STOP:
            data = data[: self._limit - self.total]  # exactly the limit reaches the reader
        if data:
            self._queue.append(data)
            self._queued += len(data)
            self.total += len(data)
            self._changed.set()
        if decision is Flow.STOP:
            self.finish(StreamEnd(kind=EndKind.TOO_LARGE))
        elif decision is Flow.PAUSE:
            self._paused = True
        return decision

    def finish(self, end: StreamEnd) -> None:
        """The stream ends as ``end`` says; only the first end counts."""
        if self.end is not None:
            return
        self.end = end
        self._changed.set()
        self._wake_writer()  # a paused connection must read again to see its own end
        if self.on_end is not None:
            self.on_end(end)

    def close(self) -> None:
        """The invocation is over: a stream that never ended was cut short."""
        self.finish(StreamEnd(kind=EndKind.TRUNCATED if self.began else EndKind.COMPLETE))

    # -- the reader -----------------------------------------------------------------------

    async def started(self) -> None:
        """Wait until the runtime begins streaming, or the stream ends without it."""
        while not self.began and self.end is None:
            self._changed.clear()
            await self._changed.wait()

    async def read(self) -> bytes | None:
        """Everything written and not yet read (waiting for some), or None at the end."""
        while not self._queue:
            if self.end is not None or self._abandoned:
                return None
            self._changed.clear()
            await self._changed.wait()
        return self.take()

    def take(self) -> bytes:
        """Everything written and not yet read, now (b"" when nothing waits)."""
        data = b"".join(self._queue)
        self._queue.clear()
        self._queued = 0
        self._wake_writer()
        return data

    def abandon(self) -> None:
        """The reader is gone: drop what waits and whatever comes."""
        self._abandoned = True
        self._queue.clear()
        self._queued = 0
        self._changed.set()
        self._wake_writer()

    def _wake_writer(self) -> None:
        if self._paused:
            self._paused = False
            self._resume()
