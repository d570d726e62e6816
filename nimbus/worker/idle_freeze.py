"""Freezing an idle environment's sandbox, as AWS freezes an execution environment between
invocations: a function's background threads and processes do not run while no invocation
does. Applied by ``worker.environment`` once an environment has been READY for a short
delay (never during Init or an invocation); thawed before the next event is delivered.

The delay is what keeps back-to-back invocations cheap: a freeze and a thaw cost ~150 us of
kernel time on cgroup v1 (~10 us on v2), and an invocation arriving within the delay only
cancels a timer (~1 us). A sandbox that cannot be frozen (process isolation, no cgroup
freezer) is never tried again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from nimbus.worker.backend import SandboxHandle


class IdleFreeze:
    def __init__(self, after_s: float | None) -> None:
        self._after_s = after_s  # None: never freeze
        self._timer: asyncio.TimerHandle | None = None

    def idle(self, handle: SandboxHandle | None, still_idle: Callable[[], bool]) -> None:
        """The environment went idle: freeze ``handle`` after the delay if ``still_idle()``
        then holds."""
        if self._after_s is None or handle is None:
            return
        self.cancel()
        self._timer = asyncio.get_running_loop().call_later(
            self._after_s, self._freeze, handle, still_idle
        )

    def _freeze(self, handle: SandboxHandle, still_idle: Callable[[], bool]) -> None:
        self._timer = None
        if still_idle() and not handle.freeze() and handle.exit_status is None:
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
