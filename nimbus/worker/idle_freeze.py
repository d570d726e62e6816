"""Freezing an idle environment's sandbox, as AWS freezes an execution environment between
invocations: a function's background threads and processes do not run while no invocation
does. Armed by ``worker.environment`` once the environment is READY *and* its runtime has
parked in ``/next`` (what AWS waits for: work a runtime does after sending its response, a
log flush, Node's event loop draining, still runs), then applied after a short delay (never
during Init or an invocation); thawed before the next event is delivered.

The delay is what keeps back-to-back invocations cheap: a freeze and a thaw cost ~150 us of
kernel time on cgroup v1 (~10 us on v2), and an invocation arriving within the delay only
cancels a timer (~1 us). A sandbox that cannot be frozen (process isolation, no cgroup
freezer) is never tried again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from nimbus.worker.backend import SandboxHandle


class Timer(Protocol):
    def cancel(self) -> None: ...


# Runs a callback after a delay (seconds), cancellable: the event loop's call_later by
# default; tests pass a manual one, so no test waits for a real delay.
Schedule = Callable[[float, Callable[[], None]], Timer]


def loop_timer(delay_s: float, callback: Callable[[], None]) -> Timer:
    return asyncio.get_running_loop().call_later(delay_s, callback)


class IdleFreeze:
    def __init__(
        self,
        after_s: float | None,
        still_idle: Callable[[], bool],
        *,
        schedule: Schedule = loop_timer,
    ) -> None:
        """``still_idle()`` is asked when the delay is over: the freeze happens only if it
        holds (no invocation started meanwhile)."""
        self._after_s = after_s  # None: never freeze
        self._still_idle = still_idle
        self._schedule = schedule
        self._timer: Timer | None = None
        self._handle: SandboxHandle | None = None
        self._fire = self._freeze  # bound once: arming allocates only the timer

    def idle(self, handle: SandboxHandle | None) -> None:
        """The environment went idle: freeze ``handle`` after the delay if ``still_idle()``
        then holds."""
        if self._after_s is None or handle is None:
            return
        self.cancel()
        self._handle = handle
        self._timer = self._schedule(self._after_s, self._fire)

    def _freeze(self) -> None:
        handle, self._timer = self._handle, None
        if handle is None or not self._still_idle():
            return
        if not handle.freeze() and handle.exit_status is None:
            self._after_s = None  # this sandbox cannot be frozen: stop trying

    def wake(self, handle: SandboxHandle | None) -> None:
        """An invocation is about to be delivered: thaw (the runtime's pending ``/next``
        then gets the event), or keep the sandbox from being frozen."""
        self.cancel()
        if handle is not None:
            handle.thaw()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
