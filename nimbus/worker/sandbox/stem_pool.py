"""Cgroups with a launcher already inside them, made ahead of cold starts.

Moving a process into a cgroup can wait for an RCU grace period (~12 ms on cgroup v1 after a
quiet spell), so the zygote pre-forks launchers ("stems") that join a fresh cgroup off the
cold-start path (``zygote_server.Zygote._make_stem``); a cold start takes one and re-limits
its cgroup to the function's memory.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from nimbus.worker.sandbox.cgroups import Cgroups, EnvCgroup

log = logging.getLogger(__name__)

# Placeholder limit until a cold start takes the stem and sets the function's own.
STEM_MEMORY_MB = 128


class StemPool:
    def __init__(
        self,
        *,
        cgroups: Cgroups,
        make_stem: Callable[[str, tuple[str, ...]], None],
        size: int,
        pids_limit: int,
    ) -> None:
        self._cgroups = cgroups
        self._make_stem = make_stem  # asks the zygote to fork a launcher into these cgroups
        self._size = size
        self._pids_limit = pids_limit
        self._stems: list[tuple[str, EnvCgroup]] = []
        self._closed = False

    def refill(self) -> None:
        """Top the pool up to its size; a cgroup that cannot be made is logged, not raised."""
        while not self._closed and len(self._stems) < self._size:
            name = f"stem-{uuid.uuid4().hex[:12]}"
            try:
                group = self._cgroups.create(
                    name, memory_mb=STEM_MEMORY_MB, pids_max=self._pids_limit
                )
            except OSError as exc:
                log.warning("could not pre-create a sandbox cgroup: %s", exc)
                return
            self._make_stem(name, group.procs_files)
            self._stems.append((name, group))

    def take(self) -> tuple[str, EnvCgroup] | None:
        """The oldest stem (its id and cgroup), or None when the pool is empty. The pool is
        refilled on the next loop iteration, after the cold start that took it."""
        if not self._stems:
            return None
        stem = self._stems.pop(0)
        asyncio.get_running_loop().call_soon(self.refill)
        return stem

    async def close(self) -> None:
        """Kill the waiting launchers and remove their cgroups; no refills after this."""
        self._closed = True
        stems, self._stems = self._stems, []
        for _, group in stems:
            self._cgroups.kill_all(group)
            await self._cgroups.remove(group)
