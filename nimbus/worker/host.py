"""The worker host: runs the Init phase of each new environment and keeps track of them.

Implements ``nimbus.worker.ports.WorkerHost``. Building sandboxes is a ``SandboxBackend``'s
job (``worker.backend``); this module picks one for the requested isolation level, opens each
environment's Runtime API for the peer the backend names, and waits for the runtime to reach
its first ``/next`` (or fail) within the Init limit (``worker.init_phase``); an on-demand Init
that fails is run again, in a fresh sandbox, by the environment's first invoke. See
``sandbox.enter`` for what each isolation level guarantees.
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
from nimbus.runtimes.discovery import RuntimeTable
from nimbus.worker import init_phase, log_format
from nimbus.worker.backend import Launch, MissingEntrypoint, Sandbox, SandboxBackend
from nimbus.worker.environment import LocalEnvironment
from nimbus.worker.environment_state import EnvState
from nimbus.worker.idle_freeze import Schedule, loop_timer
from nimbus.worker.log_pipe import DEFAULT_LIMIT_BYTES
from nimbus.worker.native_code import NativeCode
from nimbus.worker.outcome import Exited, FunctionFailed, InitFailed, InitOutcome, Ok, TimedOut
from nimbus.worker.peer_uid import PeerUidLookup
from nimbus.worker.ports import LogSink
from nimbus.worker.runtime_api import RuntimeApi
from nimbus.worker.sandbox import layers
from nimbus.worker.sandbox.code_volume import CodeVolume
from nimbus.worker.sandbox.code_volume import find_boto as locate_boto
from nimbus.worker.sandbox.config import NAMESPACES, PROCESS
from nimbus.worker.sandbox.cpu_policy import CpuLimit, parse_cpu_limit
from nimbus.worker.sandbox.forker import Forker
from nimbus.worker.sandbox.launch import NIMBUS_PACKAGE
from nimbus.worker.sandbox.namespaces_backend import NamespacesBackend
from nimbus.worker.sandbox.network import FunctionNetwork
from nimbus.worker.sandbox.network_policy import NetworkOptions
from nimbus.worker.sandbox.process_backend import ProcessBackend
from nimbus.worker.sandbox.uid_pool import DEFAULT_BASE as DEFAULT_UID_BASE
from nimbus.worker.sandbox.uid_pool import UidPool
from nimbus.worker.sandbox.zygote import close_fd

log = logging.getLogger(__name__)

ISOLATION_LEVELS = ("auto", NAMESPACES, PROCESS)
# How long an environment idles before it is frozen (see LocalEnvironment); measured in
# the README: back-to-back invocations within it never pay a freeze and a thaw.
FREEZE_IDLE_MS = 10.0


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
    runtime_package: Path  # the ``nimbus`` package sandboxes see at /var/runtime/nimbus
    state_dir: Path  # files sandboxes bind (the network's resolv.conf)
    uid_base: int
    uid_count: int
    pids_limit: int
    cpu_limit: CpuLimit
    warm_sandboxes: int
    runtimes: RuntimeTable | None = None  # None: just ``python`` and ``node``
    network: NetworkOptions | None = None  # None: sandboxes share the host's network


def make_backend(isolation: str, options: BackendOptions) -> SandboxBackend:
    """The backend for an isolation level. A new kind of sandbox is a new module implementing
    ``worker.backend.SandboxBackend``, chosen here."""
    forker = Forker(
        python=options.python,
        node=options.node,
        boto_path=options.boto_path,
        runtime_package=options.runtime_package,
        runtimes=options.runtimes,
    )
    if isolation == NAMESPACES:
        return NamespacesBackend(
            forker=forker,
            root_dir=options.root_dir,
            uids=UidPool(options.uid_base, options.uid_count),
            host_id=uuid.uuid4().hex[:8],
            pids_limit=options.pids_limit,
            cpu_limit=options.cpu_limit,
            warm_sandboxes=options.warm_sandboxes,
            network=None
            if options.network is None
            else FunctionNetwork(
                api_host=options.network.api_host,
                api_port=options.network.api_port,
                host_ports=options.network.host_ports,
                pool_size=options.network.pool_size,
                resolv_conf=Path(options.network.resolv_conf),
                state_dir=options.state_dir,
            ),
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
        uid_base: int = DEFAULT_UID_BASE,  # above 2**31: clear of /etc/subuid ranges
        uid_count: int = 10_000,
        pids_limit: int = 1024,
        cpu_limit: str = CpuLimit.SHARES,
        init_timeout_s: float = 10.0,
        log_limit_bytes: int = DEFAULT_LIMIT_BYTES,
        warm_sandboxes: int = 2,
        runtimes: RuntimeTable | None = None,
        backend: SandboxBackend | None = None,
        network: NetworkOptions | None = None,
        freeze_idle_ms: float | None = FREEZE_IDLE_MS,
        freeze_timer: Schedule = loop_timer,
        volume: CodeVolume | None = None,
    ) -> None:
        """``volume``: the code volume (``sandbox.code_volume``) sandboxes bind the runtime,
        boto3 and merged layers from, instead of the data directory and the checkout.
        The options after ``runtime_api_host`` configure the backend ``isolation`` picks;
        ``backend``, if given, is used instead of it (and they are ignored).
        ``freeze_idle_ms``: an environment idle this long is frozen until its next
        invocation (``worker.environment``); None never freezes. ``freeze_timer`` schedules
        it (the event loop's timers; tests pass a manual one).
        ``network``: give each namespaces sandbox its own network namespace
        (``sandbox.network``); None shares the host's network (process isolation always)."""
        if isolation not in ISOLATION_LEVELS:
            raise ValueError(f"unknown isolation level {isolation!r}")
        self._sink = log_sink
        self._clock = clock
        self._requested_isolation = isolation
        self._api_host = runtime_api_host
        self._init_timeout_s = init_timeout_s
        self._log_limit_bytes = log_limit_bytes
        self._freeze_after_s = None if freeze_idle_ms is None else max(0.0, freeze_idle_ms) / 1000
        self._freeze_timer = freeze_timer
        self._layer_cache = volume.layers_dir if volume is not None else data_dir / "layers"
        if boto_path is None and find_boto:
            boto_path = volume.boto_dir if volume is not None else locate_boto()
        self._options = BackendOptions(
            root_dir=data_dir / "sandbox-root",
            python=python_executable or sys.executable,
            node=node_executable if node_executable is not None else shutil.which("node"),
            boto_path=boto_path,
            runtime_package=volume.runtime_package if volume is not None else NIMBUS_PACKAGE,
            state_dir=volume.network_dir if volume is not None else data_dir,
            uid_base=uid_base,
            uid_count=uid_count,
            pids_limit=pids_limit,
            cpu_limit=parse_cpu_limit(cpu_limit),
            warm_sandboxes=warm_sandboxes,
            runtimes=runtimes,
            network=network,
        )
        self._given_backend = backend
        self._backend: SandboxBackend | None = None
        self._isolation = PROCESS
        self._envs: dict[str, LocalEnvironment] = {}
        self._peers = PeerUidLookup()
        self._native = NativeCode()  # architecture warnings and checks (worker.architecture)

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
        backend = self._started_backend()
        if spec.runtime not in backend.runnable_runtimes():
            raise ServiceError(f"Runtime {spec.runtime} is not available on this worker host.")
        env_id = uuid.uuid4().hex[:16]
        stream = log_format.log_stream_name(
            epoch_s=self._clock.now(), version=spec.function_version, hex32=uuid.uuid4().hex
        )
        api, sandbox, init = await self._reserve(backend, env_id, spec)
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
            retry_init=self._retry_init if init_phase.retried_in_invoke(spec) else None,
            freeze_after_s=self._freeze_after_s,
            freeze_timer=self._freeze_timer,
        )
        self._envs[env_id] = env
        try:
            version = log_format.runtime_version(spec.runtime)
            env.log.platform_line(
                log_format.init_start_line(
                    version=version,
                    version_arn=log_format.runtime_version_arn(region=spec.region, version=version),
                ),
                tail=False,
            )
            limit_s = init_phase.init_limit_s(spec, self._init_timeout_s)
            outcome, duration_ms = await self._run_init(env, init, limit_s, first=True)
        except BaseException:
            await env.destroy()
            raise
        if isinstance(outcome, Ok):
            env.init_succeeded(duration_ms)
        else:
            env.init_failed(InitFailed(cause=outcome), duration_ms)
        return env

    def _started_backend(self) -> SandboxBackend:
        if self._backend is None:
            raise ServiceError("worker host not started")
        return self._backend

    def _forget(self, env: LocalEnvironment) -> None:
        self._envs.pop(env.id, None)

    async def _reserve(
        self, backend: SandboxBackend, sandbox_id: str, spec: EnvironmentSpec
    ) -> tuple[RuntimeApi, Sandbox, asyncio.Future[InitOutcome]]:
        """A sandbox and the Runtime API its runtime will be trusted on (not yet started),
        with the future Init's end is reported to."""
        sandbox = await backend.reserve(sandbox_id, spec)
        init: asyncio.Future[InitOutcome] = asyncio.get_running_loop().create_future()

        def on_init(reply: Ok | FunctionFailed) -> None:
            if not init.done():
                init.set_result(reply)

        api = RuntimeApi(
            bind_host=self._api_host,
            expected_uid=sandbox.peer_uid,
            on_init=on_init,
            peers=self._peers,
            listen=sandbox.runtime_api_socket,
        )
        return api, sandbox, init

    async def _retry_init(self, env: LocalEnvironment, limit_s: float) -> tuple[InitOutcome, float]:
        """Init again for ``env`` in a fresh sandbox (its failed one is released): AWS's
        suppressed init, run by the invocation after an on-demand Init failed or overran."""
        backend = self._started_backend()
        api, sandbox, init = await self._reserve(backend, uuid.uuid4().hex[:16], env.spec)
        if env.state is EnvState.DEAD:  # destroyed meanwhile (host closing)
            await sandbox.release()
            raise ServiceError(f"environment {env.id} was destroyed")
        env.rebind(api, sandbox)
        return await self._run_init(env, init, limit_s, first=False)

    async def _run_init(
        self,
        env: LocalEnvironment,
        init: asyncio.Future[InitOutcome],
        limit_s: float,
        *,
        first: bool,
    ) -> tuple[InitOutcome, float]:
        """Start ``env``'s runtime and wait until Init ends or ``limit_s`` passes: how it
        ended, and how long it took (ms)."""
        spec = env.spec
        opt = (
            await asyncio.to_thread(layers.merged_opt, self._layer_cache, spec.layer_dirs)
            if spec.layer_dirs
            else None
        )
        read_fd, write_fd = os.pipe()
        try:
            env.log.attach_pipe(read_fd, limit_bytes=self._log_limit_bytes)
            await env.api.start()
            if first:
                env.move(EnvState.INITIALIZING)
            started = self._clock.monotonic()
            launch = Launch(
                runtime_api=env.api.address, log_stream=env.log.stream, log_fd=write_fd, opt=opt
            )
            try:
                await self._native.check(spec, opt, log=env.log.platform_line if first else None)
                handle = await env.sandbox.spawn(spec, launch)
            except MissingEntrypoint as exc:  # no bootstrap, or one for another architecture
                payload = log_format.error_payload("Runtime.InvalidEntrypoint", str(exc))
                init.set_result(FunctionFailed(body=payload))
            else:
                env.process_started(handle)
                handle.on_exit(lambda status: _exit_during_init(init, status))
        finally:
            close_fd(write_fd)
        outcome: InitOutcome
        try:
            outcome = await asyncio.wait_for(init, limit_s)
        except TimeoutError:
            outcome = TimedOut(after_s=limit_s)
        duration_ms = (self._clock.monotonic() - started) * 1000
        if isinstance(outcome, Exited):
            outcome = Exited(status=outcome.status, oom=env.oom_killed())
        return outcome, duration_ms


def _exit_during_init(init: asyncio.Future[InitOutcome], status: int) -> None:
    """The runtime died: if Init was still running, that is how Init ended."""
    if not init.done():
        init.set_result(Exited(status=status))
