"""When an environment freezes and thaws, against the fake backend of test_host: frozen once
it has idled, never during Init or an invocation, thawed before an event is delivered."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from nimbus.clock import SystemClock
from nimbus.worker.environment_state import EnvState
from nimbus.worker.host import LocalWorkerHost
from tests.unit.worker.test_host import FakeBackend, FakeHandle, NullSink, request
from tests.unit.worker.test_host import spec as make_spec


async def host_with(
    tmp_path: Path, freeze_idle_ms: float | None
) -> tuple[LocalWorkerHost, FakeBackend]:
    backend = FakeBackend("serve")
    host = LocalWorkerHost(
        data_dir=tmp_path,
        log_sink=NullSink(),
        clock=SystemClock(),
        backend=backend,
        freeze_idle_ms=freeze_idle_ms,
    )
    await host.start()
    return host, backend


async def until(check: Callable[[], bool], timeout_s: float = 2.0) -> bool:
    """Let the event loop run until ``check()`` holds (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not check():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.001)
    return True


def handle_of(backend: FakeBackend) -> FakeHandle:
    handle = backend.sandboxes[-1].handle
    assert handle is not None
    return handle


async def test_an_idle_environment_is_frozen_and_thawed_for_its_next_invoke(
    tmp_path: Path,
) -> None:
    host, backend = await host_with(tmp_path, 0)
    env = await host.create_environment(make_spec(tmp_path))
    handle = handle_of(backend)
    assert await until(lambda: handle.frozen)  # idle after Init (provisioned ones wait so)
    result = await env.invoke(request("rid-1"))
    assert result.function_error is None and not result.environment_dead
    assert handle.freezes[:2] == [True, False]  # thawed for the invocation
    assert await until(lambda: handle.frozen)  # and frozen again once idle
    await host.close()
    assert handle.exit_status == -9


async def test_back_to_back_invokes_within_the_idle_delay_never_freeze(tmp_path: Path) -> None:
    host, backend = await host_with(tmp_path, 5_000)
    env = await host.create_environment(make_spec(tmp_path))
    for n in range(5):
        await env.invoke(request(f"rid-{n}"))
    assert handle_of(backend).freezes == []
    await host.close()


async def test_an_environment_is_not_frozen_while_it_runs(tmp_path: Path) -> None:
    host, backend = await host_with(tmp_path, 0)
    env = await host.create_environment(make_spec(tmp_path))
    handle = handle_of(backend)
    assert await until(lambda: handle.frozen)
    invoking = asyncio.ensure_future(env.invoke(request("rid-busy")))
    await asyncio.sleep(0)  # the invocation has started: thawed at once, before delivery
    assert env.state is EnvState.BUSY and not handle.frozen
    await invoking
    await host.close()


async def test_freezing_off_never_freezes(tmp_path: Path) -> None:
    host, backend = await host_with(tmp_path, None)
    env = await host.create_environment(make_spec(tmp_path))
    await env.invoke(request("rid"))
    await asyncio.sleep(0.01)
    assert handle_of(backend).freezes == []
    await host.close()


async def test_a_frozen_environment_is_destroyed_and_never_frozen_after(tmp_path: Path) -> None:
    host, backend = await host_with(tmp_path, 0)
    env = await host.create_environment(make_spec(tmp_path))
    handle = handle_of(backend)
    assert await until(lambda: handle.frozen)
    await env.destroy()  # what the reaper of idle environments does
    assert handle.exit_status == -9 and not env.alive
    await asyncio.sleep(0.01)
    assert handle.freezes == [True]  # the fake's kill needs no thaw; no freeze after death
    await host.close()
