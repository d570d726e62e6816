"""Reading an environment's stdout/stderr pipe on the event loop, line by line, within a log
budget per invocation.

The per-invocation budget is Nimbus's own limit, not something AWS does: Lambda documents no
truncation of an invocation's output. What AWS does document is that a CloudWatch Logs event
is at most 256 KB (longer lines are split here, MAX_LINE), that PutLogEvents counts 26 bytes
per event besides the message, that ``LogType=Tail`` returns the last 4 KB, and that logs
can be dropped when written faster than they are shipped (the Telemetry API's
``platform.logsDropped``). Without a bound one function's output would fill the server's
disk, so once an invocation has written ``limit_bytes`` (NIMBUS_LOG_LIMIT_BYTES, counted as
CloudWatch counts bytes), one marker line is written and the rest of its output is read and
dropped. Output outside invocations (Init, and anything an environment writes
while idle) counts against the budget of the Init or of the invocation before it, so no
output is ever unbounded. (100 MB written in 0.3 s grew the database by 218 MB before.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Sequence
from typing import Final

MAX_LINE = 256 * 1024  # CloudWatch Logs' event size limit; longer lines are split
EVENT_OVERHEAD: Final = 26  # bytes CloudWatch Logs counts per event besides the message
DEFAULT_LIMIT_BYTES: Final = 10 * 1024 * 1024
# How much one drain reads before giving the event loop back: a function writing without
# pause must not hold the loop (the pipe stays readable, so the loop calls again).
MAX_READ_PER_DRAIN: Final = 4 * 1024 * 1024
_READ = 65536


def marker(limit_bytes: int) -> str:
    """The one line that ends an invocation's output once it is over its budget (pure)."""
    return (
        f"[nimbus] Log output truncated: this invocation wrote more than {limit_bytes} bytes "
        "of logs (NIMBUS_LOG_LIMIT_BYTES); the rest of its output was dropped."
    )


def admit(lines: Sequence[str], left: int) -> tuple[list[str], int, bool]:
    """Which of ``lines`` fit in a budget of ``left`` bytes, each costing its UTF-8 length
    plus CloudWatch's per-event overhead (pure): the lines kept (whole ones, in order), the
    budget left, and whether the budget ran out here (then everything from the first line
    that did not fit on is dropped, and the caller writes the marker)."""
    kept: list[str] = []
    for line in lines:
        cost = len(line.encode("utf-8", errors="replace")) + EVENT_OVERHEAD
        if cost > left:
            return kept, 0, True
        left -= cost
        kept.append(line)
    return kept, left, False


def split_lines(lines: Sequence[bytes]) -> list[str]:
    """Complete lines as log events, each at most MAX_LINE bytes (pure)."""
    out: list[str] = []
    for line in lines:
        for start in range(0, max(len(line), 1), MAX_LINE):
            out.append(line[start : start + MAX_LINE].decode("utf-8", errors="replace"))
    return out


class LogPipe:
    def __init__(
        self,
        fd: int,
        on_lines: Callable[[list[str]], None],
        *,
        limit_bytes: int = DEFAULT_LIMIT_BYTES,
    ) -> None:
        self._fd: int | None = fd
        self._on_lines = on_lines
        self._partial = b""
        self._limit = limit_bytes
        self._left = limit_bytes  # of the current period (Init, then each invocation)
        self._exhausted = False  # the marker is written; output is dropped until new_period
        self._mid_line = False  # what was dropped last did not end a line
        os.set_blocking(fd, False)
        asyncio.get_running_loop().add_reader(fd, self.drain)

    def new_period(self) -> None:
        """An invocation starts: it gets a whole budget (call after draining what the
        environment wrote while idle, which belongs to the period before)."""
        self._left = self._limit
        self._exhausted = False

    def drain(self) -> None:
        """Read everything the pipe holds now (up to MAX_READ_PER_DRAIN). Called by the loop
        when readable, and by the environment before it writes END, so a function's output is
        never attributed to the next invocation (the runtime flushes before posting its
        response)."""
        if self._fd is None:
            return
        chunks, eof = self._read()
        if self._exhausted:
            if chunks:
                self._mid_line = not chunks[-1].endswith(b"\n")
        else:
            self._take(chunks, eof)
        if eof:
            self.close()

    def _read(self) -> tuple[list[bytes], bool]:
        assert self._fd is not None
        chunks: list[bytes] = []
        total = 0
        while total < MAX_READ_PER_DRAIN:
            try:
                chunk = os.read(self._fd, _READ)
            except BlockingIOError:
                return chunks, False
            except OSError:
                return chunks, True
            if not chunk:
                return chunks, True
            chunks.append(chunk)
            total += len(chunk)
        return chunks, False

    def _take(self, chunks: list[bytes], eof: bool) -> None:
        data = b"".join(chunks)
        if self._mid_line and data:
            # The rest of a line dropped in the period before: not a line of this one.
            newline = data.find(b"\n")
            if newline < 0:
                return
            data = data[newline + 1 :]
            self._mid_line = False
        data = self._partial + data
        *lines, self._partial = data.split(b"\n")
        if len(self._partial) > MAX_LINE:
            lines.append(self._partial)
            self._partial = b""
        if eof and self._partial:
            lines.append(self._partial)
            self._partial = b""
        kept, self._left, ran_out = (
            admit(split_lines(lines), self._left) if lines else ([], self._left, False)
        )
        if not ran_out and self._partial and len(self._partial) + EVENT_OVERHEAD > self._left:
            ran_out = True  # an unfinished line already too long for what is left
            self._left = 0
        if ran_out:
            self._exhausted = True
            self._mid_line = bool(self._partial)
            self._partial = b""
            kept.append(marker(self._limit))
        if kept:
            self._on_lines(kept)

    def close(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(fd)
        with contextlib.suppress(OSError):
            os.close(fd)
