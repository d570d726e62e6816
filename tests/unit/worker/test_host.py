"""LocalWorkerHost's Init handshake and bookkeeping, against a fake SandboxBackend.

The fake's "runtime" is a coroutine in this process speaking to the real Runtime API, which
is also what shows a new backend needs nothing from the host beyond ``worker.backend``.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from nimbus.clock import SystemClock
from nimbus.model.invocation import EnvironmentSpec, InvocationRequest, LogEvent
from nimbus.worker.backend import Launch, MissingEntrypoint
from nimbus.worker.environment_state import EnvState
from nimbus.worker.host import LocalWorkerHost
from tests.unit.worker.runtime_wire import read_answer

# "next" (reach /next), "serve" (answer invocations), "hang" (never reach /next), "exit" (die
# at once), "missing" (no entrypoint)
Behaviour = str


class NullSink:
    def emit(self, events: Sequence[LogEvent]) -> None:
        pass


class ListSink:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def emit(self, events: Sequence[LogEvent]) -> None:
        self.lines += [event.message for event in events]


class FakeHandle:
    def __init__(self) -> None:
        self.exit_status: int | None = None
        self.pid = 4242
        self.initialized_calls = 0
        self.frozen = False
        self.freezes: list[bool] = []  # every freeze (True) and thaw (False) that changed it
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

    def freeze(self) -> bool:
        if self.exit_status is None and not self.frozen:
            self.frozen = True
            self.freezes.append(True)
        return self.frozen

    def thaw(self) -> None:
        if self.frozen:
            self.frozen = False
            self.freezes.append(False)


class FakeSandbox:
    def __init__(self, behaviour: Behaviour) -> None:
        self._behaviour = behaviour
        self.handle: FakeHandle | None = None
        self.released = 0
        self._runtime: asyncio.Task[None] | None = None

    @property
    def peer_uid(self) -> int | None:
        return None

    def runtime_api_socket(self) -> socket.socket | None:
        return None

    async def spawn(self, spec: EnvironmentSpec, launch: Launch) -> FakeHandle:
        if self._behaviour == "missing":
            raise MissingEntrypoint("Couldn't find valid bootstrap(s): [/var/task/bootstrap]")
        if self._behaviour == "raise":
            raise OSError(11, "Resource temporarily unavailable")  # fork hit EAGAIN
        self.handle = FakeHandle()
        if self._behaviour == "exit":
            self.handle.exit(3)
        elif self._behaviour == "serve":
            self._runtime = asyncio.ensure_future(_serve(launch.runtime_api))
        elif self._behaviour != "hang":
            self._runtime = asyncio.ensure_future(_park_in_next(launch.runtime_api))
        return self.handle

    async def release(self) -> None:
        self.released += 1
        if self._runtime is not None:
            self._runtime.cancel()
            # Let the runtime's connections close, and the Runtime API see them close, before
            # the test's event loop ends (a real runtime's death closes them the same way).
            await asyncio.gather(self._runtime, return_exceptions=True)
            await asyncio.sleep(0.01)


async def _park_in_next(address: str) -> None:
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        await reader.read()
    finally:
        writer.close()


async def _serve(address: str) -> None:
    """A runtime answering every invocation with ``{"ok": true}`` (HTTP/1.1, one connection)."""
    host, port = address.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))

    try:
        while True:
            writer.write(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n")
            request_id = (await read_answer(reader))["lambda-runtime-aws-request-id"]
            body = b'{"ok": true}'
            writer.write(
                f"POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\n"
                f"Host: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await read_answer(reader)
    finally:
        writer.close()


class FakeBackend:
    def __init__(self, behaviour: Behaviour, *then: Behaviour) -> None:
        """Sandboxes behave as ``behaviour``, or in turn as ``behaviour, *then`` (the last
        one repeating)."""
        self._behaviours = [behaviour, *then]
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
        sandbox = FakeSandbox(self._behaviours[min(len(self.sandboxes), len(self._behaviours) - 1)])
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


def request(rid: str, deadline_ms: int = 2**62) -> InvocationRequest:
    return InvocationRequest(
        request_id=rid, payload=b"{}", invoked_function_arn="arn:f", deadline_ms=deadline_ms
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


async def test_an_init_that_overruns_is_retried_by_the_first_invoke(tmp_path: Path) -> None:
    sink = ListSink()
    backend = FakeBackend("hang", "serve")
    host = LocalWorkerHost(
        data_dir=tmp_path, log_sink=sink, clock=SystemClock(), backend=backend, init_timeout_s=0.05
    )
    await host.start()
    env = await host.create_environment(spec(tmp_path))
    assert env.state is EnvState.INIT_FAILED
    assert re.fullmatch(
        r"INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: init\tStatus: timeout", sink.lines[-1]
    )
    # The request's deadline has passed (the Init phase took it): the invocation still has
    # the function's whole timeout, counted from the retry.
    result = await env.invoke(request("rid-r", deadline_ms=1))
    assert json.loads(result.payload) == {"ok": True} and result.function_error is None
    assert not result.environment_dead and env.alive
    assert len(backend.sandboxes) == 2 and backend.sandboxes[0].released == 1
    assert backend.sandboxes[1].handle is not None
    assert backend.sandboxes[1].handle.initialized_calls == 1
    report = next(line for line in sink.lines if line.startswith("REPORT"))
    assert "Init Duration" not in report and result.init_duration_ms is not None
    assert sum(line.startswith("INIT_REPORT") for line in sink.lines) == 1
    again = await env.invoke(request("rid-2"))
    assert json.loads(again.payload) == {"ok": True} and again.init_duration_ms is None
    await host.close()
    assert [sandbox.released for sandbox in backend.sandboxes] == [1, 1]


async def test_an_init_that_outlasts_the_timeout_too_times_the_invoke_out(
    tmp_path: Path,
) -> None:
    sink = ListSink()
    backend = FakeBackend("hang")
    host = LocalWorkerHost(
        data_dir=tmp_path, log_sink=sink, clock=SystemClock(), backend=backend, init_timeout_s=0.05
    )
    await host.start()
    env = await host.create_environment(replace(spec(tmp_path), timeout_s=1))
    result = await env.invoke(request("rid-t"))
    assert json.loads(result.payload) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: rid-t Error: Task timed out after 1.00 seconds",
    }
    assert result.environment_dead and 1000 <= result.duration_ms < 2000
    reports = [line for line in sink.lines if line.startswith("INIT_REPORT")]
    assert reports[1].endswith("\tPhase: invoke\tStatus: error\tError Type: Runtime.Unknown")
    assert sink.lines.index(reports[1]) < next(
        i for i, line in enumerate(sink.lines) if line.startswith("START")
    )
    await env.destroy()
    await host.close()
    assert [sandbox.released for sandbox in backend.sandboxes] == [1, 1]


async def test_a_provisioned_init_failure_is_reported_not_retried(tmp_path: Path) -> None:
    sink = ListSink()
    host, backend = await started(tmp_path, "exit")
    host = LocalWorkerHost(data_dir=tmp_path, log_sink=sink, clock=SystemClock(), backend=backend)
    await host.start()
    provisioned = replace(spec(tmp_path), initialization_type="provisioned-concurrency")
    env = await host.create_environment(provisioned)
    result = await env.invoke(request("rid-p"))
    assert json.loads(result.payload)["errorType"] == "Runtime.ExitError"
    assert len(backend.sandboxes) == 1
    reports = [line for line in sink.lines if line.startswith("INIT_REPORT")]
    assert (
        len(reports) == 1
        and "\tPhase: init\tStatus: error\tError Type: Runtime.ExitError" in reports[0]
    )
    await env.destroy()
    await host.close()


async def test_a_retried_init_that_cannot_spawn_kills_the_environment(tmp_path: Path) -> None:
    """A failure inside an invocation (here the retried Init's spawn) must not leave the
    environment BUSY and alive: the pool would hand it out again forever."""
    backend = FakeBackend("exit", "raise")
    host = LocalWorkerHost(
        data_dir=tmp_path, log_sink=NullSink(), clock=SystemClock(), backend=backend
    )
    await host.start()
    env = await host.create_environment(spec(tmp_path))
    assert env.init_failure is not None
    with pytest.raises(OSError):
        await env.invoke(request("rid-r"))
    assert env.state is EnvState.DEAD and not env.alive
    await env.destroy()
    await host.close()
    assert [s.released for s in backend.sandboxes] == [1, 1]
