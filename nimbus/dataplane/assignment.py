"""The Assignment Service: per-configuration pools of warm environments.

``acquire`` hands out an idle environment of the right configuration or asks placement for a
new one (a cold start); giving it back returns it to the pool unless it died, was retired by
a configuration change, or the function was deleted. Idle environments are reaped after the
keep-alive. Decisions come from ``pool_policy``; this module only acts on them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Set
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from nimbus.clock import Clock
from nimbus.dataplane import credential_policy, pool_policy
from nimbus.dataplane.execution_role import ExecutionRole
from nimbus.dataplane.placement import Placement
from nimbus.errors import TooManyRequestsError
from nimbus.model.invocation import EnvironmentSpec
from nimbus.worker.ports import Environment

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class Tracked:
    env: Environment
    host_id: str
    pool_key: str
    function: str
    memory_mb: int
    last_used: float
    provisioned: bool = False
    owner: str | None = None  # the provisioned-concurrency config that asked for it
    busy: bool = False
    retired: bool = False
    timeout_s: float = 0.0
    credentials_expire_at: float | None = None  # epoch seconds; None: no role credentials

    def idle_view(self) -> pool_policy.IdleEnv:
        return pool_policy.IdleEnv(
            id=self.env.id,
            host_id=self.host_id,
            pool_key=self.pool_key,
            memory_mb=self.memory_mb,
            last_used=self.last_used,
            provisioned=self.provisioned,
        )


@dataclass(frozen=True, kw_only=True)
class Lease:
    env: Environment
    cold: bool


class Assignment:
    def __init__(
        self,
        *,
        placement: Placement,
        clock: Clock,
        keep_alive_s: float,
        on_cold_start: Callable[[str], None] = lambda _name: None,
        execution_role: ExecutionRole | None = None,
    ) -> None:
        """``execution_role``: mints each new environment's role credentials (None: specs
        go to hosts as they are, for tests without IAM)."""
        self._placement = placement
        self._execution_role = execution_role
        self._clock = clock
        self._keep_alive_s = keep_alive_s
        self._on_cold_start = on_cold_start
        self._envs: dict[str, Tracked] = {}
        # pool key -> idle environments, least recently used first (a dict keeps insertion
        # order and a release re-inserts at the end), on-demand and provisioned apart, so the
        # best candidate of each kind is the last entry: O(1) however large the pool.
        self._idle: dict[str, dict[str, Tracked]] = {}
        self._idle_provisioned: dict[str, dict[str, Tracked]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._reaper: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._reaper = asyncio.get_running_loop().create_task(self._reap_forever())

    @asynccontextmanager
    async def acquire(self, spec: EnvironmentSpec) -> AsyncIterator[Lease]:
        tracked, cold = self._take_idle(spec.config_key), False
        if tracked is None:
            tracked, cold = await self._cold_start(spec), True
        tracked.busy = True
        try:
            yield Lease(env=tracked.env, cold=cold)
        finally:
            tracked.busy = False
            tracked.last_used = self._clock.monotonic()
            if tracked.env.alive and not tracked.retired and self._credentials_fresh(tracked):
                self._park(tracked)
            else:
                self._spawn(self._destroy(tracked))

    async def add_provisioned(self, spec: EnvironmentSpec, owner: str) -> Environment:
        """Create a pre-initialised environment kept warm outside the keep-alive."""
        tracked = await self._cold_start(spec, provisioned=True)
        tracked.owner = owner
        tracked.last_used = self._clock.monotonic()
        self._park(tracked)
        return tracked.env

    def provisioned_counts(self, owner: str) -> tuple[int, int]:
        """(allocated, available) provisioned environments of ``owner``."""
        mine = [t for t in self._envs.values() if t.owner == owner and not t.retired]
        alive = [t for t in mine if t.env.alive]
        return len(alive), sum(1 for t in alive if not t.busy)

    def retire_where(self, keep: Callable[[Tracked], bool]) -> None:
        """Stop reusing every environment ``keep`` rejects (its configuration changed, its
        function was deleted, its provisioned config removed): idle ones are destroyed now,
        busy ones when they are given back."""
        for tracked in list(self._envs.values()):
            if tracked.retired or keep(tracked):
                continue
            tracked.retired = True
            if not tracked.busy:
                self._remove_idle(tracked)
                self._spawn(self._destroy(tracked))

    def retire_stale(self, function: str, live_keys: Set[str]) -> None:
        """Retire ``function``'s environments built from a configuration that is no longer
        current (new code or settings, a deleted version or function): ``live_keys`` are the
        ``code_key``s of its versions as they are now."""
        self.retire_where(lambda t: t.function != function or t.pool_key in live_keys)

    def retire_owner(self, owner: str, count: int | None = None) -> None:
        """Retire ``count`` (default: all) of ``owner``'s provisioned environments."""
        chosen = {
            t.env.id
            for t in sorted(
                (t for t in self._envs.values() if t.owner == owner and not t.retired),
                key=lambda t: t.busy,  # idle ones first
            )[: count if count is not None else None]
        }
        self.retire_where(lambda t: t.env.id not in chosen)

    def environments(self, function: str | None = None) -> list[Tracked]:
        return [t for t in self._envs.values() if function is None or t.function == function]

    async def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with suppress(asyncio.CancelledError):
                await self._reaper
        await asyncio.gather(*(self._destroy(t) for t in list(self._envs.values())))
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # --- internals -------------------------------------------------------------------------

    def _take_idle(self, pool_key: str) -> Tracked | None:
        while True:
            candidates = [
                pool[next(reversed(pool))]
                for pool in (self._idle_provisioned.get(pool_key), self._idle.get(pool_key))
                if pool
            ]
            chosen = pool_policy.pick_warm([t.idle_view() for t in candidates])
            if chosen is None:
                return None
            tracked = self._envs[chosen.id]
            self._remove_idle(tracked)
            if tracked.env.alive and self._credentials_fresh(tracked):
                return tracked
            self._spawn(self._destroy(tracked))

    def _park(self, tracked: Tracked) -> None:
        pools = self._idle_provisioned if tracked.provisioned else self._idle
        pools.setdefault(tracked.pool_key, {})[tracked.env.id] = tracked

    def _all_idle(self) -> list[Tracked]:
        return [
            t
            for pools in (self._idle, self._idle_provisioned)
            for pool in pools.values()
            for t in pool.values()
        ]

    def _credentials_fresh(self, tracked: Tracked) -> bool:
        return credential_policy.usable(
            tracked.credentials_expire_at, now=self._clock.now(), timeout_s=tracked.timeout_s
        )

    async def _cold_start(self, spec: EnvironmentSpec, *, provisioned: bool = False) -> Tracked:
        self._on_cold_start(spec.function_name)
        if self._execution_role is not None:
            spec = await self._execution_role.credentials_for(spec)
        slot = self._placement.choose(spec.memory_mb)
        if slot is None:
            idle = [t.idle_view() for t in self._all_idle()]
            plan = pool_policy.evictions_for(self._placement.snapshots(), idle, spec.memory_mb)
            if plan is None:
                raise TooManyRequestsError(
                    "Rate Exceeded. No worker host has memory for a new execution environment "
                    f"of {spec.memory_mb} MB and no idle environment can be evicted.",
                    Reason="ConcurrentInvocationLimitExceeded",
                    retryAfterSeconds=1,
                )
            _host, victims = plan
            for victim in victims:
                tracked_victim = self._envs[victim.id]
                self._remove_idle(tracked_victim)
                await self._destroy(tracked_victim)
            slot = self._placement.choose(spec.memory_mb)
            if slot is None:  # pragma: no cover - the plan guaranteed room
                raise TooManyRequestsError(
                    "Rate Exceeded.", Reason="ConcurrentInvocationLimitExceeded"
                )
        env = await self._placement.create(slot, spec)
        tracked = Tracked(
            env=env,
            host_id=slot.id,
            pool_key=spec.config_key,
            function=spec.function_name,
            memory_mb=spec.memory_mb,
            last_used=self._clock.monotonic(),
            provisioned=provisioned,
            timeout_s=float(spec.timeout_s),
            credentials_expire_at=spec.credentials.expiration if spec.credentials else None,
        )
        self._envs[env.id] = tracked
        return tracked

    def _remove_idle(self, tracked: Tracked) -> None:
        for pools in (self._idle, self._idle_provisioned):
            pool = pools.get(tracked.pool_key)
            if pool is not None:
                pool.pop(tracked.env.id, None)
                if not pool:
                    del pools[tracked.pool_key]

    async def _destroy(self, tracked: Tracked) -> None:
        if self._envs.pop(tracked.env.id, None) is None:
            return
        try:
            await tracked.env.destroy()
        except Exception:  # a sandbox that fails to clean up must not take the server down
            log.exception("destroying environment %s failed", tracked.env.id)
        finally:
            self._placement.release(tracked.host_id, tracked.memory_mb)

    async def _reap_forever(self) -> None:
        interval = max(0.05, min(self._keep_alive_s / 4, 5.0))
        while True:
            await self._clock.sleep(interval)
            self.reap()

    def reap(self) -> None:
        """Destroy idle environments past their keep-alive, and idle ones (provisioned
        included: their reconciler starts replacements) whose credentials no longer outlast
        an invocation."""
        for stale in self._all_idle():
            if not self._credentials_fresh(stale):
                self._remove_idle(stale)
                self._spawn(self._destroy(stale))
        idle = [t.idle_view() for t in self._all_idle()]
        for view in pool_policy.expired(
            idle, now=self._clock.monotonic(), keep_alive_s=self._keep_alive_s
        ):
            tracked = self._envs.get(view.id)
            if tracked is not None:
                self._remove_idle(tracked)
                self._spawn(self._destroy(tracked))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
