"""Reading an environment's stdout/stderr pipe on the event loop, line by line."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable

MAX_LINE = 256 * 1024  # CloudWatch Logs' event size limit; longer lines are split


class LogPipe:
    def __init__(self, fd: int, on_lines: Callable[[list[str]], None]) -> None:
        self._fd: int | None = fd
        self._on_lines = on_lines
        self._partial = b""
        os.set_blocking(fd, False)
        asyncio.get_running_loop().add_reader(fd, self.drain)

    def drain(self) -> None:
        """Read everything the pipe holds now. Called by the loop when readable, and by the
        environment before it writes END, so a function's output is never attributed to the
        next invocation (the runtime flushes before posting its response)."""
        if self._fd is None:
            return
        chunks = [self._partial]
        eof = False
        while True:
            try:
                chunk = os.read(self._fd, 65536)
            except BlockingIOError:
                break
            except OSError:
                eof = True
                break
            if not chunk:
                eof = True
                break
            chunks.append(chunk)
        data = b"".join(chunks)
        *lines, self._partial = data.split(b"\n")
        if len(self._partial) > MAX_LINE:
            lines.append(self._partial)
            self._partial = b""
        if eof and self._partial:
            lines.append(self._partial)
            self._partial = b""
        if lines:
            out: list[str] = []
            for line in lines:
                for start in range(0, max(len(line), 1), MAX_LINE):
                    out.append(line[start : start + MAX_LINE].decode("utf-8", errors="replace"))
            self._on_lines(out)
        if eof:
            self.close()

    def close(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(Exception):
            asyncio.get_running_loop().remove_reader(fd)
        with contextlib.suppress(OSError):
            os.close(fd)
