"""The worker host: runs the Init phase of each new environment and keeps track of them.

Implements ``nimbus.worker.ports.WorkerHost``. Building sandboxes is a ``SandboxBackend``'s
job (``worker.backend``); this module picks one for the requested isolation level, opens each
environment's Runtime API for the peer the backend names, and waits for the runtime to reach
its first ``/next`` (or fail). See ``sandbox.enter`` for what each isolation level guarantees.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nimbus.clock import Clock
from nimbus.errors import ServiceError
from nimbus.model.invocation import EnvironmentSpec
from nimbus.runtimes import registry
from nimbus.worker import log_format
from nimbus.worker.backend import Launch, MissingEntrypoint, SandboxBackend
from nimbus.worker.environment import LocalEnvironment
from nimbus.worker.environment_state import EnvState
from nimbus.worker.outcome import Exited, FunctionFailed, InitFailed, InitOutcome, Ok, TimedOut
from nimbus.worker.peer_uid import PeerUidLookup
from nimbus.worker.ports import LogSink
from nimbus.worker.runtime_api import RuntimeApi
from nimbus.worker.sandbox import layers
from nimbus.worker.sandbox.config import NAMESPACES, PROCESS
from nimbus.worker.sandbox.forker import Forker
from nimbus.worker.sandbox.forker import find_boto as locate_boto
from nimbus.worker.sandbox.namespaces_backend import NamespacesBackend
from nimbus.worker.sandbox.process_backend import ProcessBackend
from nimbus.worker.sandbox.uid_pool import UidPool
from nimbus.worker.sandbox.zygote import close_fd

log = logging.getLogger(__name__)

ISOLATION_LEVELS = ("auto", NAMESPACES, PROCESS)


def choose_isolation(requested: str, *, root: bool) -> str:
    """The isolation level to run at (pure): ``auto`` means namespaces when root, else
    process. Raises ServiceError for ``namespaces`` without root."""
    if requested == NAMESPACES and not root:
        raise ServiceError("namespaces isolation needs root; use isolation='process'")
    return NAMESPACES if root and requested != PROCESS else PROCESS


@dataclass(frozen=True, kw_only=True)
class BackendOptions:
    """How to build the zygote backends (see ``LocalWorkerHost``'s arguments)."""

    root_dir: Path
    python: str
    node: str | None
    boto_path: Path | None
    uid_base: int
    uid_count: int
    pids_limit: int
    cpu_limits: bool
    warm_sandboxes: int


def make_backend(isolation: str, options: BackendOptions) -> SandboxBackend:
    """The backend for an isolation level. A new kind of sandbox is a new module implementing
    ``worker.backend.SandboxBackend``, chosen here."""
    forker = Forker(python=options.python, node=options.node, boto_path=options.boto_path)
    if isolation == NAMESPACES:
        return NamespacesBackend(
            forker=forker,
            root_dir=options.root_dir,
            uids=UidPool(options.uid_base, options.uid_count),
            host_id=uuid.uuid4().hex[:8],
            pids_limit=options.pids_limit,
            cpu_limits=options.cpu_limits,
            warm_sandboxes=options.warm_sandboxes,
        )
    return ProcessBackend(forker=forker, root_dir=options.root_dir)


class LocalWorkerHost:
    def __init__(
        self,
        *,
        data_dir: Path,
        log_sink: LogSink,
        clock: Clock,
        isolation: str = "auto",
        runtime_api_host: str = "127.0.0.1",
        python_executable: str | None = None,
        node_executable: str | None = None,
        boto_path: Path | None = None,
        find_boto: bool = True,
        uid_base: int = 100_000,
        uid_count: int = 10_000,
        pids_limit: int = 1024,
        cpu_limits: bool = True,
        init_timeout_s: float = 10.0,
        warm_sandboxes: int = 2,
        backend: SandboxBackend | None = None,
    ) -> None:
        """The options after ``runtime_api_host`` configure the backend ``isolation`` picks;
        ``backend``, if given, is used instead of it (and they are ignored)."""
        if isolation not in ISOLATION_LEVELS:
            raise ValueError(f"unknown isolation level {isolation!r}")
        self._sink = log_sink
        self._clock = clock
        self._requested_isolation = isolation
        self._api_host = runtime_api_host
        self._init_timeout_s = init_timeout_s
        self._layer_cache = data_dir / "layers"
        self._options = BackendOptions(
            root_dir=data_dir / "sandbox-root",
            python=python_executable or sys.executable,
            node=node_executable if node_executable is not None else shutil.which("node"),
            boto_path=boto_path
            if boto_path is not None
            else (locate_boto() if find_boto else None),
            uid_base=uid_base,
            uid_count=uid_count,
            pids_limit=pids_limit,
            cpu_limits=cpu_limits,
            warm_sandboxes=warm_sandboxes,
        )
        self._given_backend = backend
        self._backend: SandboxBackend | None = None
        self._isolation = PROCESS
        self._envs: dict[str, LocalEnvironment] = {}
        self._peers = PeerUidLookup()

    @property
    def isolation(self) -> str:
        """The isolation level of the backend started last (``process`` before start)."""
        return self._isolation

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        backend = self._given_backend
        if backend is None:
            root = os.geteuid() == 0
            if self._requested_isolation == "auto" and not root:
                log.warning(
                    "not root: sandboxes use 'process' isolation (rlimits only, "
                    "no isolation between functions)"
                )
            level = choose_isolation(self._requested_isolation, root=root)
            backend = make_backend(level, self._options)
        await backend.start()
        self._backend = backend
        self._isolation = backend.isolation

    async def close(self) -> None:
        await asyncio.gather(
            *(env.destroy() for env in list(self._envs.values())), return_exceptions=True
        )
        backend, self._backend = self._backend, None
        if backend is not None:
            await backend.close()
        self._peers.close()

    def runnable_runtimes(self) -> Sequence[str]:
        return self._backend.runnable_runtimes() if self._backend is not None else ()

    # -- environments ---------------------------------------------------------------------

    async def create_environment(self, spec: EnvironmentSpec) -> LocalEnvironment:
        backend = self._backend
        if backend is None:
            raise ServiceError("worker host not started")
        if spec.runtime not in backend.runnable_runtimes():
            raise ServiceError(f"Runtime {spec.runtime} is not available on this worker host.")
        loop = asyncio.get_running_loop()
        env_id = uuid.uuid4().hex[:16]
        stream = log_format.log_stream_name(
            epoch_s=self._clock.now(), version=spec.function_version, hex32=uuid.uuid4().hex
        )
        opt = (
            await asyncio.to_thread(layers.merged_opt, self._layer_cache, spec.layer_dirs)
            if spec.layer_dirs
            else None
        )
        sandbox = await backend.reserve(env_id, spec)
        init: asyncio.Future[InitOutcome] = loop.create_future()

        def on_init(reply: Ok | FunctionFailed) -> None:
            if not init.done():
                init.set_result(reply)

        api = RuntimeApi(
            bind_host=self._api_host,
            expected_uid=sandbox.peer_uid,
            on_init=on_init,
            peers=self._peers,
        )
        env = LocalEnvironment(
            env_id=env_id,
            spec=spec,
            api=api,
            log_stream=stream,
            log_sink=self._sink,
            clock=self._clock,
            billed_init=registry.family_of(spec.runtime) == "provided",
            sandbox=sandbox,
            forget=self._forget,
        )
        self._envs[env_id] = env
        read_fd, write_fd = os.pipe()
        try:
            env.attach_log_pipe(read_fd)
            await api.start()
            env.move(EnvState.INITIALIZING)
            started = self._clock.monotonic()
            launch = Launch(runtime_api=api.address, log_stream=stream, log_fd=write_fd, opt=opt)
            try:
                handle = await sandbox.spawn(spec, launch)
            except MissingEntrypoint as exc:
                payload = log_format.error_payload("Runtime.InvalidEntrypoint", str(exc))
                init.set_result(FunctionFailed(body=payload))
            else:
                env.process_started(handle)
                handle.on_exit(lambda status: _exit_during_init(init, status))
        except BaseException:
            close_fd(write_fd)
            await env.destroy()
            raise
        close_fd(write_fd)
        await self._finish_init(env, init, started)
        return env

    def _forget(self, env: LocalEnvironment) -> None:
        self._envs.pop(env.id, None)

    async def _finish_init(
        self,
        env: LocalEnvironment,
        init: asyncio.Future[InitOutcome],
        started: float,
    ) -> None:
        outcome: InitOutcome
        try:
            outcome = await asyncio.wait_for(init, self._init_timeout_s)
        except TimeoutError:
            outcome = TimedOut(after_s=self._init_timeout_s)
        duration_ms = (self._clock.monotonic() - started) * 1000
        if isinstance(outcome, Ok):
            env.init_succeeded(duration_ms)
            return
        if isinstance(outcome, Exited):
            outcome = Exited(status=outcome.status, oom=env.oom_killed())
        env.init_failed(InitFailed(cause=outcome), duration_ms)


def _exit_during_init(init: asyncio.Future[InitOutcome], status: int) -> None:
    """The runtime died: if Init was still running, that is how Init ended."""
    if not init.done():
        init.set_result(Exited(status=status))
