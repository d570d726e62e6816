"""Injected time and randomness, so that a six-hour event age is a unit test."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Protocol

log = logging.getLogger(__name__)


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock seconds since the epoch."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class Random(Protocol):
    def random(self) -> float: ...


def system_random() -> Random:
    return random.SystemRandom()


class Periodic:
    """Runs ``work`` every ``interval_s`` seconds of ``clock`` from ``start()`` until
    ``close()`` (the first pass after one interval, or at once with ``first_now``).
    Housekeeping must never stop for good: a pass that raises is logged as ``what`` failing
    and the next pass still runs."""

    def __init__(
        self,
        work: Callable[[], Awaitable[object]],
        *,
        clock: Clock,
        interval_s: float,
        what: str,
        first_now: bool = False,
    ) -> None:
        self._work = work
        self._clock = clock
        self._interval_s = interval_s
        self._what = what
        self._first_now = first_now
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._forever())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _forever(self) -> None:
        if not self._first_now:
            await self._clock.sleep(self._interval_s)
        while True:
            try:
                await self._work()
            except Exception:
                log.exception("%s failed", self._what)
            await self._clock.sleep(self._interval_s)
