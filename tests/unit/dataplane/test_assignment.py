from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from nimbus.dataplane.assignment import Assignment
from nimbus.dataplane.placement import HostSlot, Placement
from nimbus.errors import TooManyRequestsError
from nimbus.model.invocation import EnvironmentSpec
from nimbus.testing.clock import ManualClock
from nimbus.testing.worker import FakeWorkerHost


def spec(name: str, key: str = "r1", memory: int = 128) -> EnvironmentSpec:
    return EnvironmentSpec(
        function_name=name,
        function_version="$LATEST",
        function_arn=f"arn:{name}",
        runtime="python3.11",
        handler="app.handler",
        code_dir=Path("/nonexistent"),
        memory_mb=memory,
        config_key=f"{name}:$LATEST:{key}",
    )


def build(
    budget: int = 1024, keep_alive: float = 60.0
) -> tuple[Assignment, FakeWorkerHost, ManualClock, Placement]:
    host = FakeWorkerHost()
    clock = ManualClock()
    placement = Placement([HostSlot(id="h", host=host, budget_mb=budget)])
    return (
        Assignment(placement=placement, clock=clock, keep_alive_s=keep_alive),
        host,
        clock,
        placement,
    )


async def test_warm_reuse_and_cold_flag() -> None:
    assignment, host, _clock, _ = build()
    async with assignment.acquire(spec("f")) as first:
        assert first.cold
    async with assignment.acquire(spec("f")) as second:
        assert not second.cold
        assert second.env is first.env
    assert len(host.created) == 1


async def test_concurrent_acquires_get_distinct_environments() -> None:
    assignment, host, _clock, _ = build()
    async with assignment.acquire(spec("f")) as a, assignment.acquire(spec("f")) as b:
        assert a.env is not b.env
    assert len(host.created) == 2


async def test_dead_environment_is_not_reused() -> None:
    assignment, host, _clock, _ = build()
    async with assignment.acquire(spec("f")) as lease:
        lease.env.alive_flag = False  # type: ignore[attr-defined]
    await asyncio.sleep(0)
    async with assignment.acquire(spec("f")) as lease2:
        assert lease2.cold
    assert host.created[0].destroyed


async def test_new_configuration_key_never_gets_old_environment() -> None:
    assignment, _host, _clock, _ = build()
    async with assignment.acquire(spec("f", key="r1")):
        pass
    async with assignment.acquire(spec("f", key="r2")) as lease:
        assert lease.cold


async def test_retire_where_destroys_idle_and_busy_on_release() -> None:
    assignment, host, _clock, placement = build()
    async with assignment.acquire(spec("f")):
        pass
    async with assignment.acquire(spec("g")):
        assignment.retire_where(lambda t: False)
        await asyncio.sleep(0)
        assert host.created[0].destroyed
        assert not host.created[1].destroyed
    await asyncio.sleep(0)
    assert host.created[1].destroyed
    assert placement.snapshots()[0].used_mb == 0


async def test_reap_after_keep_alive() -> None:
    assignment, host, clock, _ = build(keep_alive=10)
    async with assignment.acquire(spec("f")):
        pass
    clock.advance(5)
    assignment.reap()
    await asyncio.sleep(0)
    assert not host.created[0].destroyed
    clock.advance(6)
    assignment.reap()
    await asyncio.sleep(0)
    assert host.created[0].destroyed


async def test_eviction_lru_then_throttle() -> None:
    assignment, host, clock, _ = build(budget=256)
    async with assignment.acquire(spec("a")):
        pass
    clock.advance(1)
    async with assignment.acquire(spec("b")):
        pass
    async with assignment.acquire(spec("c")) as lease:
        assert lease.cold
        assert host.created[0].destroyed  # "a" was least recently used
        assert not host.created[1].destroyed
        with pytest.raises(TooManyRequestsError):
            async with assignment.acquire(spec("d", memory=256)):
                pass


async def test_provisioned_served_first_and_counted() -> None:
    assignment, _host, _clock, _ = build()
    async with assignment.acquire(spec("f")):
        pass
    env = await assignment.add_provisioned(spec("f"), owner="f:1")
    assert assignment.provisioned_counts("f:1") == (1, 1)
    async with assignment.acquire(spec("f")) as lease:
        assert lease.env is env
        assert assignment.provisioned_counts("f:1") == (1, 0)
    assignment.retire_owner("f:1")
    await asyncio.sleep(0)
    assert assignment.provisioned_counts("f:1") == (0, 0)
