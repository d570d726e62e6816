"""LocalWorkerHost's Init handshake and bookkeeping, against a fake SandboxBackend.

The fake's "runtime" is a coroutine in this process speaking to the real Runtime API, which
is also what shows a new backend needs nothing from the host beyond ``worker.backend``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from pathlib import Path

from nimbus.clock import SystemClock
from nimbus.model.invocation import EnvironmentSpec, InvocationRequest, LogEvent
from nimbus.worker.backend import Launch, MissingEntrypoint
from nimbus.worker.environment_state import EnvState
from nimbus.worker.host import LocalWorkerHost

Behaviour = str  # "next" (reach /next), "exit" (die at once), "missing" (no entrypoint)


class NullSink:
    def emit(self, events: Sequence[LogEvent]) -> None:
        pass


class FakeHandle:
    def __init__(self) -> None:
        self.exit_status: int | None = None
        self.initialized_calls = 0
        self._callbacks: list[Callable[[int], None]] = []

    def exit(self, status: int) -> None:
        if self.exit_status is None:
            self.exit_status = status
            for callback in self._callbacks:
                callback(status)

    def kill(self) -> None:
        self.exit(-9)

    async def wait(self) -> int:
        assert self.exit_status is not None
        return self.exit_status

    def on_exit(self, callback: Callable[[int], None]) -> None:
        if self.exit_status is not None:
            callback(self.exit_status)
        else:
            self._callbacks.append(callback)

    def oom_killed(self) -> bool:
        return False

    def peak_memory_mb(self) -> int:
        return 42

    def initialized(self) -> None:
        self.initialized_calls += 1


class FakeSandbox:
    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self.handle: FakeHandle | None = None
        self.released = 0
        self._runtime: asyncio.Task[None] | None = None

    @property
    def peer_uid(self) -> int | None:
        return None

    async def spawn(self, spec: EnvironmentSpec, launch: Launch) -> FakeHandle:
        if self._behaviour == "missing":
            raise MissingEntrypoint("Couldn't find valid bootstrap(s): [/var/task/bootstrap]")
        self.handle = FakeHandle()
        if self._behaviour == "exit":
            self.handle.exit(3)
        else:
            self._runtime = asyncio.ensure_future(_park_in_next(launch.runtime_api))
        return self.handle

    async def release(self) -> None:
        self.released += 1
        if self._runtime is not None:
            self._runtime.cancel()


async def _park_in_next(address: str) -> None:
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        await reader.read()
    finally:
        writer.close()


class FakeBackend:
    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self.sandboxes: list[FakeSandbox] = []
        self.closed = False

    @property
    def isolation(self) -> str:
        return "fake"

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        self.closed = True

    def runnable_runtimes(self) -> Sequence[str]:
        return ["python3.11", "provided.al2023"]

    async def reserve(self, env_id: str, spec: EnvironmentSpec) -> FakeSandbox:
        sandbox = FakeSandbox(self._behaviour)
        self.sandboxes.append(sandbox)
        return sandbox


def spec(tmp_path: Path, runtime: str = "python3.11") -> EnvironmentSpec:
    return EnvironmentSpec(
        function_name="f",
        function_version="$LATEST",
        function_arn="arn:f",
        runtime=runtime,
        handler="app.h",
        code_dir=tmp_path,
    )


def request(rid: str) -> InvocationRequest:
    return InvocationRequest(
        request_id=rid, payload=b"{}", invoked_function_arn="arn:f", deadline_ms=2**62
    )


async def started(tmp_path: Path, behaviour: Behaviour) -> tuple[LocalWorkerHost, FakeBackend]:
    backend = FakeBackend(behaviour)
    host = LocalWorkerHost(
        data_dir=tmp_path, log_sink=NullSink(), clock=SystemClock(), backend=backend
    )
    await host.start()
    assert host.isolation == "fake"
    return host, backend


async def test_runtime_reaching_next_makes_the_environment_ready(tmp_path: Path) -> None:
    host, backend = await started(tmp_path, "next")
    env = await host.create_environment(spec(tmp_path))
    handle = backend.sandboxes[0].handle
    assert env.state is EnvState.READY and handle is not None and handle.initialized_calls == 1
    assert env.init_duration_ms is not None
    await host.close()
    assert handle.exit_status == -9 and backend.sandboxes[0].released == 1 and backend.closed


async def test_exit_during_init_is_reported_by_the_first_invoke(tmp_path: Path) -> None:
    host, backend = await started(tmp_path, "exit")
    env = await host.create_environment(spec(tmp_path))
    assert env.state is EnvState.INIT_FAILED
    result = await env.invoke(request("rid-x"))
    assert json.loads(result.payload) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: rid-x Error: Runtime exited with error: exit status 3",
    }
    assert result.environment_dead and result.function_error == "Unhandled"
    await env.destroy()
    assert backend.sandboxes[0].released == 1
    await host.close()
    assert backend.sandboxes[0].released == 1  # forgotten once released: not released twice


async def test_missing_entrypoint_fails_init_without_a_process(tmp_path: Path) -> None:
    host, backend = await started(tmp_path, "missing")
    env = await host.create_environment(spec(tmp_path, "provided.al2023"))
    result = await env.invoke(request("rid-m"))
    assert json.loads(result.payload)["errorType"] == "Runtime.InvalidEntrypoint"
    assert result.environment_dead and result.max_memory_used_mb == 0
    await env.destroy()
    await host.close()
    assert backend.sandboxes[0].handle is None and backend.sandboxes[0].released == 1
