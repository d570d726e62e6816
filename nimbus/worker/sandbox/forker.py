"""What both zygote backends share: the zygote, the interpreters it found, launch planning,
and the handle of a runtime it forked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from nimbus.model.invocation import EnvironmentSpec
from nimbus.runtimes import probe, registry
from nimbus.runtimes.discovery import Interpreter, RuntimeTable
from nimbus.worker import env_vars
from nimbus.worker.backend import Launch, MissingEntrypoint
from nimbus.worker.sandbox.code_volume import BOTO_PACKAGES
from nimbus.worker.sandbox.config import SandboxConfig
from nimbus.worker.sandbox.launch import NIMBUS_PACKAGE, LaunchPlan, plan_launch
from nimbus.worker.sandbox.zygote import ZygoteClient
from nimbus.worker.sandbox.zygote_policy import ZygoteLost

log = logging.getLogger(__name__)


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


def _cannot_freeze(frozen: bool) -> bool:
    return False


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
        set_frozen: Callable[[bool], bool] = _cannot_freeze,
    ) -> None:
        self._zygote = zygote
        self.pid = pid  # in the host's pid namespace
        self._oom_killed = oom_killed
        self._initialized = initialized
        self._set_frozen = set_frozen  # freezes (True) or thaws the sandbox's cgroup
        self._frozen = False
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
            self.thaw()  # cgroup v1: a frozen task does not act on SIGKILL until thawed
            self._zygote.kill(self.pid)

    def freeze(self) -> bool:
        if self._status is None and not self._frozen:
            self._frozen = self._set_frozen(True)
        return self._frozen

    def thaw(self) -> None:
        if self._frozen:
            self._frozen = False
            self._set_frozen(False)

    def oom_killed(self) -> bool:
        return self._oom_killed()

    def peak_memory_mb(self) -> int:
        # /proc is only read while the process lives: a dead pid may already be recycled.
        if self._status is None:
            self._peak_mb = max(self._peak_mb, read_peak_mb(self.pid))
        return self._peak_mb

    def initialized(self) -> None:
        self._initialized()


class LostRuntime:
    """The handle of a runtime that never started because its zygote died (or would not
    start): reported as killed (-9), so Init fails as any runtime death does
    (``Runtime.ExitError``), not as a server error."""

    pid = 0
    exit_status: int | None = -9

    def kill(self) -> None:
        return None

    async def wait(self) -> int:
        return -9

    def on_exit(self, callback: Callable[[int], None]) -> None:
        callback(-9)

    def oom_killed(self) -> bool:
        return False

    def peak_memory_mb(self) -> int:
        return 0

    def initialized(self) -> None:
        return None

    def freeze(self) -> bool:
        return False

    def thaw(self) -> None:
        return None


class Forker:
    """The zygotes and the interpreters sandboxes can run, for one backend.

    The base zygote runs the server's own Python: it forks that Python's functions, every
    runtime that execs a binary (Node.js, custom runtimes) and the pre-forked stems, and
    starts with the backend. Each other Python runtime gets a zygote of its own interpreter
    (its functions run inside the fork), started on that runtime's first cold start.
    """

    def __init__(
        self,
        *,
        python: str,
        node: str | None,
        boto_path: Path | None,
        runtime_package: Path = NIMBUS_PACKAGE,
        runtimes: RuntimeTable | None = None,
    ) -> None:
        self._python = python
        self._node = node
        self._boto_path = boto_path
        self._runtime_package = runtime_package
        self._table = runtimes
        self.zygote = ZygoteClient(python=python)
        self._zygotes: dict[str, ZygoteClient] = {python: self.zygote}
        self._compiling: set[asyncio.Future[None]] = set()

    @property
    def python_version(self) -> str:
        return self.zygote.version

    @property
    def table(self) -> RuntimeTable:
        assert self._table is not None, "Forker.start() builds the table"
        return self._table

    async def start(self) -> None:
        if self._table is None:
            self._table = await asyncio.to_thread(probe.interpreters_only, self._python, self._node)
        await self.zygote.start()

    async def close(self) -> None:
        for task in self._compiling:
            task.cancel()
        await asyncio.gather(*self._compiling, return_exceptions=True)
        await asyncio.gather(*(zygote.close() for zygote in self._zygotes.values()))

    def runnable_runtimes(self) -> Sequence[str]:
        return self.table.runnable()

    def zygotes(self) -> dict[str, ZygoteClient]:
        """The zygotes made so far, by interpreter path (diagnostics and tests)."""
        return dict(self._zygotes)

    def _python_of(self, spec: EnvironmentSpec) -> Interpreter | None:
        """The interpreter a Python function runs in; None for other families (and for a
        Python runtime the table lacks, which the host refuses before getting here)."""
        if registry.family_of(spec.runtime) != "python":
            return None
        return self.table.interpreter(spec.runtime)

    def zygote_for(self, spec: EnvironmentSpec) -> ZygoteClient:
        interpreter = self._python_of(spec)
        if interpreter is None:
            return self.zygote
        zygote = self._zygotes.get(interpreter.path)
        if zygote is None:
            zygote = self._zygotes[interpreter.path] = ZygoteClient(python=interpreter.path)
            if self._boto_path is not None:
                compiling = asyncio.ensure_future(compile_boto(interpreter.path, self._boto_path))
                self._compiling.add(compiling)
                compiling.add_done_callback(self._compiling.discard)
        return zygote

    def uses_stems(self, spec: EnvironmentSpec) -> bool:
        """Whether a pre-forked stem (a launcher of the base zygote) can start this spec."""
        return self.zygote_for(spec) is self.zygote

    def _node_for(self, spec: EnvironmentSpec) -> str | None:
        if registry.family_of(spec.runtime) == "nodejs":
            found = self.table.interpreter(spec.runtime)
            if found is not None:
                return found.path
        return self._node

    def _python_facts(self, spec: EnvironmentSpec) -> tuple[str, str, str]:
        """(interpreter path, sys.base_prefix, "3.X") the spec's sandbox sees as its Python."""
        interpreter = self._python_of(spec)
        if interpreter is not None and interpreter.path != self._python:
            major, minor = interpreter.version
            return interpreter.path, interpreter.prefix, f"{major}.{minor}"
        return self._python, self.zygote.prefix, self.zygote.version

    def plan(self, spec: EnvironmentSpec, launch: Launch, *, namespaces: bool) -> LaunchPlan:
        """The launch plan; raises MissingEntrypoint when a custom runtime has no bootstrap."""
        python, prefix, version = self._python_facts(spec)
        plan = plan_launch(
            spec,
            namespaces=namespaces,
            opt=launch.opt,
            python=python,
            python_prefix=prefix,
            python_version=version,
            node=self._node_for(spec),
            boto_path=self._boto_path,
            runtime_package=self._runtime_package,
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
            python_version=self._python_facts(spec)[2],
        )

    async def fork(
        self,
        spec: EnvironmentSpec,
        config: SandboxConfig,
        log_fd: int,
        stem: str | None = None,
        *,
        oom_killed: Callable[[], bool] = _never,
        initialized: Callable[[], None] = _nothing,
        set_frozen: Callable[[bool], bool] = _cannot_freeze,
        netns_fd: int | None = None,
        tmp_fd: int | None = None,
    ) -> ForkedRuntime | LostRuntime:
        """Ask the spec's zygote to fork ``config`` (from a pre-forked stem if given) into
        the network namespace and with the /tmp mount these fds hold, if given, starting
        that zygote first if it is not running. A zygote that is gone gives a
        ``LostRuntime``; raises ZygoteError when a running zygote refuses."""
        zygote = self.zygote_for(spec)
        try:
            pid = await zygote.spawn(config, log_fd, stem, netns_fd=netns_fd, tmp_fd=tmp_fd)
        except ZygoteLost as exc:
            _write_line(log_fd, f"[nimbus] the sandbox was lost before its runtime ran: {exc}")
            return LostRuntime()
        return ForkedRuntime(
            zygote, pid, oom_killed=oom_killed, initialized=initialized, set_frozen=set_frozen
        )


def _write_line(fd: int, text: str) -> None:
    """One line into the environment's log pipe (the function's logs)."""
    with contextlib.suppress(OSError):
        os.write(fd, (text + "\n").encode())


async def compile_boto(python: str, boto_path: Path) -> None:
    """Byte-compile the bundled boto3 for another Python, once, in the background: sandboxes
    see it read-only, so without its .pyc files every cold start that imports boto3 would
    compile botocore again (seconds). Failures only cost speed, so they are logged."""
    sources = [str(boto_path / name) for name in BOTO_PACKAGES if (boto_path / name).exists()]
    try:
        process = await asyncio.create_subprocess_exec(
            python,
            "-I",
            "-m",
            "compileall",
            "-q",
            *sources,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        await process.wait()
    except OSError as exc:
        log.warning("could not byte-compile boto3 for %s: %s", python, exc)
