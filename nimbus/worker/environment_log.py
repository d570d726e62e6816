"""One environment's log stream: what its runtime writes (read from its stdout/stderr pipe,
``log_pipe``) and the platform's own lines (INIT_START, START, END, REPORT, INIT_REPORT) go
to the log sink as events of the function's log group, and an invocation that asked for its
logs (``LogType: Tail``) keeps its lines for X-Amz-Log-Result.

The invocation that reports a failed Init has that Init's output in its tail, as on AWS: the
last 100 lines written during Init are kept for it.
"""

from __future__ import annotations

from collections.abc import Callable

from nimbus.clock import Clock
from nimbus.model.invocation import LogEvent
from nimbus.worker import log_format
from nimbus.worker.log_pipe import DEFAULT_LIMIT_BYTES, LogPipe
from nimbus.worker.ports import LogSink


class EnvironmentLog:
    def __init__(
        self,
        *,
        group: str,
        stream: str,
        sink: LogSink,
        clock: Clock,
        initializing: Callable[[], bool],
    ) -> None:
        """``initializing()``: whether the environment's Init is under way (its lines are
        kept for the invocation that reports it)."""
        self.stream = stream
        self._group = group
        self._sink = sink
        self._clock = clock
        self._initializing = initializing
        self._pipe: LogPipe | None = None
        self._capture: list[str] | None = None
        self._init_lines: list[str] = []  # shown in the tail of an invoke that reports Init

    def attach_pipe(self, fd: int, *, limit_bytes: int = DEFAULT_LIMIT_BYTES) -> None:
        self._pipe = LogPipe(fd, self._lines, limit_bytes=limit_bytes)

    def _lines(self, lines: list[str], *, tail: bool = True) -> None:
        now_ms = int(self._clock.now() * 1000)
        group = self._group
        self._sink.emit(
            [
                LogEvent(group=group, stream=self.stream, timestamp_ms=now_ms, message=m)
                for m in lines
            ]
        )
        if not tail:
            return
        if self._capture is not None:
            self._capture.extend(lines)
        elif self._initializing():
            self._init_lines.extend(lines)
            del self._init_lines[:-100]

    def platform_line(self, message: str, *, tail: bool = True) -> None:
        """Write a line of the platform's own; ``tail=False`` keeps it out of X-Amz-Log-Result
        (AWS's INIT_START is in the log stream only)."""
        self._lines([message], tail=tail)

    def drain(self) -> None:
        if self._pipe is not None:
            self._pipe.drain()

    def begin(self, *, tail: bool, init_failed: bool) -> None:
        """An invocation starts: its lines are kept for its tail when ``tail``, after the
        failed Init's when it reports that Init (``init_failed``)."""
        self._capture = [] if tail else None
        self.drain()  # anything written while idle belongs before START
        if self._pipe is not None:
            self._pipe.new_period()  # each invocation has its own log budget (log_pipe)
        if self._capture is not None and init_failed:
            # The invoke reports the failed Init, so its output is in this tail, as on AWS.
            self._capture.extend(self._init_lines)

    def end(self) -> str:
        """The invocation is over: its tail (``log_format.tail``), or "" if not asked for."""
        tail = log_format.tail(self._capture) if self._capture is not None else ""
        self._capture = None
        return tail

    def close(self) -> None:
        """The runtime is gone: take what it wrote last, then close its pipe."""
        self.drain()
        if self._pipe is not None:
            self._pipe.close()
