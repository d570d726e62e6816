"""The Placement Service: worker hosts, their memory budgets, and creating environments."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass

from nimbus.dataplane.pool_policy import HostSnapshot, choose_host
from nimbus.errors import TooManyRequestsError
from nimbus.model.invocation import EnvironmentSpec
from nimbus.worker.ports import Environment, WorkerHost


@dataclass(kw_only=True)
class HostSlot:
    id: str
    host: WorkerHost
    budget_mb: int
    used_mb: int = 0

    def snapshot(self) -> HostSnapshot:
        return HostSnapshot(id=self.id, budget_mb=self.budget_mb, used_mb=self.used_mb)


def out_of_descriptors(exc: BaseException) -> bool:
    """Whether a failed cold start ran out of file descriptors (the process's EMFILE or the
    system's ENFILE), anywhere in its chain of causes (pure)."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in (errno.EMFILE, errno.ENFILE):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class Placement:
    def __init__(self, hosts: Sequence[HostSlot]) -> None:
        self._hosts = {slot.id: slot for slot in hosts}

    def snapshots(self) -> list[HostSnapshot]:
        return [slot.snapshot() for slot in self._hosts.values()]

    def choose(self, memory_mb: int) -> HostSlot | None:
        chosen = choose_host(self.snapshots(), memory_mb)
        return None if chosen is None else self._hosts[chosen.id]

    async def create(self, slot: HostSlot, spec: EnvironmentSpec) -> Environment:
        # Charge the memory before awaiting so concurrent cold starts see it taken.
        slot.used_mb += spec.memory_mb
        try:
            return await slot.host.create_environment(spec)
        except BaseException as exc:
            slot.used_mb -= spec.memory_mb
            if out_of_descriptors(exc):
                # Like running out of memory for a new environment (assignment): a throttle
                # the caller retries, never a 500. The HTTP front door keeps a reserve of
                # descriptors (frontend.http_protocol) so this stays rare.
                raise TooManyRequestsError(
                    "Rate Exceeded. The worker host is out of file descriptors for a new "
                    "execution environment.",
                    Reason="ConcurrentInvocationLimitExceeded",
                    retryAfterSeconds=1,
                ) from exc
            raise

    def release(self, host_id: str, memory_mb: int) -> None:
        self._hosts[host_id].used_mb -= memory_mb

    def runnable_runtimes(self) -> list[str]:
        runtimes: list[str] = []
        for slot in self._hosts.values():
            runtimes += [r for r in slot.host.runnable_runtimes() if r not in runtimes]
        return runtimes

    async def close(self) -> None:
        for slot in self._hosts.values():
            await slot.host.close()
