"""Warm-pool and placement decisions, as pure functions over snapshots (after OpenWhisk's
ContainerPool.schedule): which idle environment to reuse, which to reap, which to evict, and
which worker host gets a new one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class IdleEnv:
    id: str
    host_id: str
    pool_key: str  # environments are interchangeable only within one key
    memory_mb: int
    last_used: float
    provisioned: bool = False


@dataclass(frozen=True, kw_only=True)
class HostSnapshot:
    id: str
    budget_mb: int
    used_mb: int

    @property
    def free_mb(self) -> int:
        return self.budget_mb - self.used_mb


def pick_warm(idle: Sequence[IdleEnv]) -> IdleEnv | None:
    """Reuse provisioned environments first, then the most recently used one: keeping the
    hot set small lets the rest age out (Lambda, too, favours recently used environments)."""
    if not idle:
        return None
    return max(idle, key=lambda env: (env.provisioned, env.last_used))


def expired(idle: Sequence[IdleEnv], *, now: float, keep_alive_s: float) -> list[IdleEnv]:
    """Idle on-demand environments past their keep-alive (provisioned ones are kept)."""
    return [env for env in idle if not env.provisioned and now - env.last_used >= keep_alive_s]


def choose_host(hosts: Sequence[HostSnapshot], needed_mb: int) -> HostSnapshot | None:
    """The host with the most free memory that fits ``needed_mb`` (spreads load)."""
    fitting = [host for host in hosts if host.free_mb >= needed_mb]
    if not fitting:
        return None
    return max(fitting, key=lambda host: (host.free_mb, host.id))


def evictions_for(
    hosts: Sequence[HostSnapshot], idle: Sequence[IdleEnv], needed_mb: int
) -> tuple[HostSnapshot, list[IdleEnv]] | None:
    """The fewest least-recently-used idle on-demand environments to evict so that one host
    can fit ``needed_mb``; None when no host can be freed enough."""
    best: tuple[HostSnapshot, list[IdleEnv]] | None = None
    for host in hosts:
        if host.budget_mb < needed_mb:
            continue
        candidates = sorted(
            (env for env in idle if env.host_id == host.id and not env.provisioned),
            key=lambda env: env.last_used,
        )
        free = host.free_mb
        victims: list[IdleEnv] = []
        for env in candidates:
            if free >= needed_mb:
                break
            victims.append(env)
            free += env.memory_mb
        if free < needed_mb:
            continue
        if best is None or len(victims) < len(best[1]):
            best = (host, victims)
    return best
