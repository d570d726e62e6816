"""When an environment freezes and thaws, against the fake backend of test_host: frozen once
it has idled with its runtime parked in /next, never during Init or an invocation, thawed
before an event is delivered. Timers are manual: a test fires them, nothing waits for a
real delay."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from nimbus.clock import SystemClock
from nimbus.model.invocation import EnvironmentSpec
from nimbus.worker.backend import Launch
from nimbus.worker.environment_state import EnvState
from nimbus.worker.host import LocalWorkerHost
from nimbus.worker.idle_freeze import Timer
from tests.unit.worker.runtime_wire import read_answer
from tests.unit.worker.test_host import FakeBackend, FakeHandle, FakeSandbox, NullSink, request
from tests.unit.worker.test_host import spec as make_spec


class ManualTimer:
    def __init__(self, delay_s: float, callback: Callable[[], None]) -> None:
        self.delay_s = delay_s
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualTimers:
    """The freeze scheduler of these tests: timers fire only when ``fire()`` says so."""

    def __init__(self) -> None:
        self.made: list[ManualTimer] = []

    def __call__(self, delay_s: float, callback: Callable[[], None]) -> Timer:
        timer = ManualTimer(delay_s, callback)
        self.made.append(timer)
        return timer

    def pending(self) -> list[ManualTimer]:
        return [t for t in self.made if not t.cancelled]

    def fire(self) -> int:
        """Run every pending timer, as if its delay had passed; how many ran."""
        due = self.pending()
        for timer in due:
            timer.cancelled = True  # fired: a call_later handle runs once
            timer.callback()
        return len(due)


async def until(check: Callable[[], bool], limit: int = 2000) -> bool:
    """Let the event loop run until ``check()`` holds (bounded, in loop iterations: the fake
    runtime talks to the Runtime API over loopback, a few iterations per request)."""
    for _ in range(limit):
        if check():
            return True
        await asyncio.sleep(0)
    return check()


class GatedBackend(FakeBackend):
    """Sandboxes whose runtime answers each invocation, then waits for ``gate`` before it
    asks for the next event: work a function does after returning."""

    def __init__(self) -> None:
        super().__init__("hang")
        self.gate = asyncio.Event()

    async def reserve(self, env_id: str, spec: EnvironmentSpec) -> FakeSandbox:
        backend = self

        class Gated(FakeSandbox):
            async def spawn(self, spec: EnvironmentSpec, launch: Launch) -> FakeHandle:
                handle = await super().spawn(spec, launch)  # "hang": no runtime of its own
                self._runtime = asyncio.ensure_future(_gated(launch.runtime_api, backend.gate))
                return handle

        sandbox = Gated("hang")
        self.sandboxes.append(sandbox)
        return sandbox


async def _gated(address: str, gate: asyncio.Event) -> None:
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))

    try:
        while True:
            writer.write(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
            request_id = (await read_answer(reader))["lambda-runtime-aws-request-id"]
            writer.write(
                f"POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\n"
                "Host: x\r\nContent-Length: 2\r\n\r\n{}".encode()
            )
            await read_answer(reader)
            await gate.wait()
            gate.clear()
    finally:
        writer.close()


async def host_with(
    tmp_path: Path, freeze_idle_ms: float | None, backend: FakeBackend | None = None
) -> tuple[LocalWorkerHost, FakeBackend, ManualTimers]:
    backend = backend or FakeBackend("serve")
    timers = ManualTimers()
    host = LocalWorkerHost(
        data_dir=tmp_path,
        log_sink=NullSink(),
        clock=SystemClock(),
        backend=backend,
        freeze_idle_ms=freeze_idle_ms,
        freeze_timer=timers,
    )
    await host.start()
    return host, backend, timers


def handle_of(backend: FakeBackend) -> FakeHandle:
    handle = backend.sandboxes[-1].handle
    assert handle is not None
    return handle


async def test_an_idle_environment_is_frozen_and_thawed_for_its_next_invoke(
    tmp_path: Path,
) -> None:
    host, backend, timers = await host_with(tmp_path, 10)
    env = await host.create_environment(make_spec(tmp_path))
    handle = handle_of(backend)
    assert [t.delay_s for t in timers.pending()] == [0.01]  # idle after Init, parked in /next
    assert timers.fire() == 1 and handle.frozen
    result = await env.invoke(request("rid-1"))
    assert result.function_error is None and not result.environment_dead
    assert handle.freezes[:2] == [True, False]  # thawed for the invocation
    assert await until(lambda: bool(timers.pending()))  # armed again once parked
    assert timers.fire() == 1 and handle.frozen
    await host.close()
    assert handle.exit_status == -9


async def test_back_to_back_invokes_within_the_idle_delay_never_freeze(tmp_path: Path) -> None:
    host, backend, timers = await host_with(tmp_path, 5_000)
    env = await host.create_environment(make_spec(tmp_path))
    for n in range(5):
        await env.invoke(request(f"rid-{n}"))  # each cancels the timer the last one armed
        assert len(timers.pending()) <= 1
    assert handle_of(backend).freezes == []
    await host.close()


async def test_a_timer_never_freezes_a_running_invocation(tmp_path: Path) -> None:
    backend = GatedBackend()
    host, _, timers = await host_with(tmp_path, 10, backend)
    env = await host.create_environment(make_spec(tmp_path))
    handle = handle_of(backend)
    armed = timers.pending()
    assert len(armed) == 1
    invoking = asyncio.ensure_future(env.invoke(request("rid-busy")))
    await asyncio.sleep(0)  # the invocation has started: the timer is cancelled
    assert env.state is EnvState.BUSY and timers.pending() == []
    armed[0].callback()  # even a timer that fired late finds the environment busy
    assert not handle.frozen
    await invoking
    await host.close()


async def test_the_freeze_waits_for_the_runtime_to_park_in_next(tmp_path: Path) -> None:
    # As on AWS: what a function does after returning (log flushes, an event loop draining)
    # runs until its runtime asks for the next event.
    backend = GatedBackend()
    host, _, timers = await host_with(tmp_path, 10, backend)
    env = await host.create_environment(make_spec(tmp_path))
    handle = handle_of(backend)
    timers.fire()
    result = await env.invoke(request("rid-after"))
    assert result.function_error is None and env.state is EnvState.READY
    for _ in range(50):
        await asyncio.sleep(0)  # the runtime still works: it has not asked for /next
    assert timers.pending() == [] and handle.freezes == [True, False]
    backend.gate.set()
    assert await until(lambda: bool(timers.pending()))
    assert timers.fire() == 1 and handle.frozen
    await host.close()


async def test_freezing_off_never_freezes(tmp_path: Path) -> None:
    host, backend, timers = await host_with(tmp_path, None)
    env = await host.create_environment(make_spec(tmp_path))
    await env.invoke(request("rid"))
    assert timers.made == [] and handle_of(backend).freezes == []
    await host.close()


async def test_a_frozen_environment_is_destroyed_and_never_frozen_after(tmp_path: Path) -> None:
    host, backend, timers = await host_with(tmp_path, 10)
    env = await host.create_environment(make_spec(tmp_path))
    handle = handle_of(backend)
    timers.fire()
    assert handle.frozen
    await env.destroy()  # what the reaper of idle environments does
    assert handle.exit_status == -9 and not env.alive
    assert timers.fire() == 0
    assert handle.freezes == [True]  # the fake's kill needs no thaw; no freeze after death
    await host.close()
