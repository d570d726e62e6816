"""What both zygote backends share: the zygote, the interpreters it found, launch planning,
and the handle of a runtime it forked."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from nimbus.model.invocation import EnvironmentSpec
from nimbus.runtimes import registry
from nimbus.worker import env_vars
from nimbus.worker.backend import Launch, MissingEntrypoint
from nimbus.worker.sandbox.config import SandboxConfig
from nimbus.worker.sandbox.launch import LaunchPlan, plan_launch
from nimbus.worker.sandbox.zygote import ZygoteClient


def read_peak_mb(pid: int) -> int:
    """Peak RSS (VmHWM) of the runtime process, in MB, rounded up. Read on every invoke, so
    one raw read and a byte search rather than a line-by-line text parse."""
    try:
        fd = os.open(f"/proc/{pid}/status", os.O_RDONLY)
        try:
            data = os.read(fd, 8192)
        finally:
            os.close(fd)
        start = data.index(b"VmHWM:") + 6
        return -(-int(data[start : data.index(b"kB", start)]) // 1024)
    except (OSError, ValueError):
        return 0


def _never() -> bool:
    return False


def _nothing() -> None:
    return None


class ForkedRuntime:
    """A runtime the zygote forked (a ``backend.SandboxHandle``). Its exit is reported by
    the zygote, which reaps it; kills go through the zygote too, which never signals a pid
    it has already reaped."""

    def __init__(
        self,
        zygote: ZygoteClient,
        pid: int,
        *,
        oom_killed: Callable[[], bool] = _never,
        initialized: Callable[[], None] = _nothing,
    ) -> None:
        self._zygote = zygote
        self.pid = pid  # in the host's pid namespace
        self._oom_killed = oom_killed
        self._initialized = initialized
        self._status: int | None = None
        self._callbacks: list[Callable[[int], None]] = []
        self._exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._peak_mb = 0
        zygote.on_exit(pid, self._on_exit)  # last: it may call back at once (exited early)

    @property
    def exit_status(self) -> int | None:
        return self._status

    def _on_exit(self, status: int) -> None:
        self._status = status
        if not self._exited.done():
            self._exited.set_result(status)
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback(status)

    def on_exit(self, callback: Callable[[int], None]) -> None:
        if self._status is not None:
            callback(self._status)
        else:
            self._callbacks.append(callback)

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def kill(self) -> None:
        if self._status is None:
            self._zygote.kill(self.pid)

    def oom_killed(self) -> bool:
        return self._oom_killed()

    def peak_memory_mb(self) -> int:
        # /proc is only read while the process lives: a dead pid may already be recycled.
        if self._status is None:
            self._peak_mb = max(self._peak_mb, read_peak_mb(self.pid))
        return self._peak_mb

    def initialized(self) -> None:
        self._initialized()


class Forker:
    """The zygote and the interpreters sandboxes can run, for one backend."""

    def __init__(self, *, python: str, node: str | None, boto_path: Path | None) -> None:
        self._python = python
        self._node = node
        self._boto_path = boto_path
        self._node_major: int | None = None
        self.zygote = ZygoteClient(python=python)

    @property
    def python_version(self) -> str:
        return self.zygote.version

    async def start(self) -> None:
        await self.zygote.start()
        if self._node:
            self._node_major = await asyncio.to_thread(node_major, self._node)

    async def close(self) -> None:
        await self.zygote.close()

    def runnable_runtimes(self) -> Sequence[str]:
        versions = (self.zygote.version,) if self.zygote.version else ()
        return [*registry.probe_runnable(versions, self._node_major), "provided"]

    def plan(self, spec: EnvironmentSpec, launch: Launch, *, namespaces: bool) -> LaunchPlan:
        """The launch plan; raises MissingEntrypoint when a custom runtime has no bootstrap."""
        plan = plan_launch(
            spec,
            namespaces=namespaces,
            opt=launch.opt,
            python=self._python,
            python_prefix=self.zygote.prefix,
            python_version=self.zygote.version,
            node=self._node,
            boto_path=self._boto_path,
        )
        if plan.missing_entrypoint:
            raise MissingEntrypoint(plan.missing_entrypoint)
        return plan

    def environ(self, spec: EnvironmentSpec, launch: Launch, plan: LaunchPlan) -> dict[str, str]:
        return env_vars.build(
            spec,
            runtime_api=launch.runtime_api,
            log_stream=launch.log_stream,
            paths=plan.paths,
            python_version=self.zygote.version,
        )

    async def fork(
        self,
        config: SandboxConfig,
        log_fd: int,
        stem: str | None = None,
        *,
        oom_killed: Callable[[], bool] = _never,
        initialized: Callable[[], None] = _nothing,
    ) -> ForkedRuntime:
        """Ask the zygote to fork ``config`` (from a pre-forked stem if given). Raises
        ZygoteError when the zygote refuses or is gone."""
        pid = await self.zygote.spawn(config, log_fd, stem)
        return ForkedRuntime(self.zygote, pid, oom_killed=oom_killed, initialized=initialized)


def find_boto() -> Path | None:
    """The site-packages holding boto3, put at the end of functions' sys.path as Lambda's
    Python runtimes include it."""
    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec("boto3")
        if spec is not None and spec.origin:
            return Path(spec.origin).resolve().parents[1]
    return None


def node_major(node: str) -> int | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10)
        return int(out.stdout.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
