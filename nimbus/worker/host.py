"""The worker host: builds sandboxes from a zygote, runs the Init phase, tears them down.

Implements ``nimbus.worker.ports.WorkerHost``. See ``sandbox.enter`` for what each isolation
level guarantees.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

from nimbus.clock import Clock
from nimbus.errors import ServiceError
from nimbus.model.invocation import EnvironmentSpec
from nimbus.runtimes import registry
from nimbus.worker import env_vars, log_format
from nimbus.worker.environment import InitFailure, LocalEnvironment
from nimbus.worker.environment_state import EnvState
from nimbus.worker.peer_uid import PeerUidLookup
from nimbus.worker.ports import LogSink
from nimbus.worker.runtime_api import RuntimeApi, RuntimeReply
from nimbus.worker.sandbox import layers
from nimbus.worker.sandbox.cgroups import Cgroups, EnvCgroup
from nimbus.worker.sandbox.config import NAMESPACES, PROCESS, SandboxConfig
from nimbus.worker.sandbox.launch import LaunchPlan, plan_launch
from nimbus.worker.sandbox.zygote import ZygoteClient, close_fd

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


class UidPool:
    """Unprivileged uids, one per live environment, reused after the sandbox is gone.

    Several hosts may share a machine (tests, a second node): each claims its own block of
    uids with an flock held for its lifetime, since the Runtime API trusts a uid to mean one
    environment."""

    def __init__(self, base: int, count: int) -> None:
        self._base = base
        self._count = count
        self._next = base
        self._end = base + count
        self._free: list[int] = []
        self._lock: int | None = None

    def claim_block(self, lock_dir: Path, blocks: int = 64) -> None:
        lock_dir.mkdir(parents=True, exist_ok=True)
        for index in range(blocks):
            fd = os.open(lock_dir / f"block-{self._base}-{index}", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            self._lock = fd
            self._next = self._base + index * self._count
            self._end = self._next + self._count
            return
        raise ServiceError("No free block of sandbox uids on this machine.")

    def close(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def acquire(self) -> int:
        if self._free:
            return self._free.pop()
        if self._next >= self._end:
            raise ServiceError("No free sandbox uids on this worker host.")
        self._next += 1
        return self._next - 1

    def release(self, uid: int) -> None:
        self._free.append(uid)


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
    ) -> None:
        if isolation not in ("auto", NAMESPACES, PROCESS):
            raise ValueError(f"unknown isolation level {isolation!r}")
        self._data_dir = data_dir
        self._sink = log_sink
        self._clock = clock
        self._requested_isolation = isolation
        self.isolation = PROCESS
        self._api_host = runtime_api_host
        self._python = python_executable or sys.executable
        self._node = node_executable if node_executable is not None else shutil.which("node")
        self._boto_path = (
            boto_path if boto_path is not None else (_find_boto() if find_boto else None)
        )
        self._uids = UidPool(uid_base, uid_count)
        self._pids_limit = pids_limit
        self._cpu_limits = cpu_limits
        self._init_timeout_s = init_timeout_s
        self._host_id = uuid.uuid4().hex[:8]
        self._zygote = ZygoteClient(python=self._python)
        self._cgroups: Cgroups | None = None
        self._node_major: int | None = None
        self._envs: dict[str, LocalEnvironment] = {}
        self._resources: dict[str, tuple[EnvCgroup | None, int | None]] = {}
        self._root_dir = data_dir / "sandbox-root"
        self._layer_cache = data_dir / "layers"
        self._warm_sandboxes = warm_sandboxes
        self._stems: list[tuple[str, EnvCgroup]] = []
        self._peers = PeerUidLookup()
        self._started = False

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        root = os.geteuid() == 0
        if self._requested_isolation == NAMESPACES and not root:
            raise ServiceError("namespaces isolation needs root; use isolation='process'")
        if self._requested_isolation == "auto" and not root:
            log.warning(
                "not root: sandboxes use 'process' isolation (rlimits only, "
                "no isolation between functions)"
            )
        self.isolation = NAMESPACES if root and self._requested_isolation != PROCESS else PROCESS
        self._root_dir.mkdir(parents=True, exist_ok=True)
        if self.isolation == NAMESPACES:
            self._uids.claim_block(Path("/run/lock/nimbus-uids"))
            self._cgroups = Cgroups.open(self._host_id)
        await self._zygote.start()
        if self._node:
            self._node_major = await asyncio.to_thread(_node_major, self._node)
        self._started = True
        self._refill_stems()

    async def close(self) -> None:
        await asyncio.gather(
            *(env.destroy() for env in list(self._envs.values())), return_exceptions=True
        )
        await self._zygote.close()
        if self._cgroups is not None:
            stems, self._stems = self._stems, []
            for _, group in stems:
                self._cgroups.kill_all(group)
                await self._cgroups.remove(group)
            self._cgroups.close()
        self._peers.close()
        self._uids.close()
        self._started = False

    def runnable_runtimes(self) -> Sequence[str]:
        versions = (self._zygote.version,) if self._zygote.version else ()
        return [*registry.probe_runnable(versions, self._node_major), "provided"]

    # -- environments ---------------------------------------------------------------------

    async def create_environment(self, spec: EnvironmentSpec) -> LocalEnvironment:
        if not self._started:
            raise ServiceError("worker host not started")
        if spec.runtime not in self.runnable_runtimes():
            raise ServiceError(f"Runtime {spec.runtime} is not available on this worker host.")
        loop = asyncio.get_running_loop()
        env_id = uuid.uuid4().hex[:16]
        stream = log_format.log_stream_name(
            epoch_s=self._clock.now(), version=spec.function_version, hex32=uuid.uuid4().hex
        )
        namespaces = self.isolation == NAMESPACES
        opt = (
            await asyncio.to_thread(layers.merged_opt, self._layer_cache, spec.layer_dirs)
            if spec.layer_dirs
            else None
        )
        uid = self._uids.acquire() if namespaces else None
        group: EnvCgroup | None = None
        init: asyncio.Future[tuple[str, RuntimeReply | int | None]] = loop.create_future()

        def on_init(reply: RuntimeReply | None) -> None:
            if not init.done():
                init.set_result(("ok", None) if reply is None else ("error", reply))

        api = RuntimeApi(
            bind_host=self._api_host, expected_uid=uid, on_init=on_init, peers=self._peers
        )
        env = LocalEnvironment(
            env_id=env_id,
            spec=spec,
            api=api,
            log_stream=stream,
            log_sink=self._sink,
            clock=self._clock,
            billed_init=registry.family_of(spec.runtime) == "provided",
            read_peak_mb=read_peak_mb,
            oom_killed=lambda: (
                self._cgroups is not None and group is not None and self._cgroups.oom_killed(group)
            ),
            kill=self._zygote.kill,
            release=self._release,
        )
        self._envs[env_id] = env
        self._resources[env_id] = (None, uid)
        read_fd, write_fd = os.pipe()
        try:
            stem: str | None = None
            if self._cgroups is not None and self._stems:
                stem, group = self._stems.pop(0)
                self._resources[env_id] = (group, uid)
                self._cgroups.set_limits(group, memory_mb=spec.memory_mb, pids_max=self._pids_limit)
                loop.call_soon(self._refill_stems)
            elif self._cgroups is not None:
                group = self._cgroups.create(
                    env_id, memory_mb=spec.memory_mb, pids_max=self._pids_limit
                )
                self._resources[env_id] = (group, uid)
            await api.start()
            plan = plan_launch(
                spec,
                namespaces=namespaces,
                opt=opt,
                python=self._python,
                python_prefix=self._zygote.prefix,
                python_version=self._zygote.version,
                node=self._node,
                boto_path=self._boto_path,
            )
            config = self._config(spec, env_id, plan, api, stream, uid, None if stem else group)
            env.attach_log_pipe(read_fd)
            env.move(EnvState.INITIALIZING)
            started = self._clock.monotonic()
            if plan.missing_entrypoint:
                init.set_result(
                    (
                        "error",
                        RuntimeReply(
                            kind="error",
                            body=log_format.error_payload(
                                "Runtime.InvalidEntrypoint", plan.missing_entrypoint
                            ),
                        ),
                    )
                )
            else:
                pid = await self._zygote.spawn(config, write_fd, stem)
                env.process_started(pid)

                def on_exit(status: int) -> None:
                    env.process_exited(status)
                    if not init.done():
                        init.set_result(("exit", status))

                self._zygote.on_exit(pid, on_exit)
        except BaseException:
            close_fd(write_fd)
            await env.destroy()
            raise
        close_fd(write_fd)
        await self._finish_init(env, init, started, group)
        return env

    async def _finish_init(
        self,
        env: LocalEnvironment,
        init: asyncio.Future[tuple[str, RuntimeReply | int | None]],
        started: float,
        group: EnvCgroup | None,
    ) -> None:
        try:
            kind, detail = await asyncio.wait_for(init, self._init_timeout_s)
        except TimeoutError:
            kind, detail = "timeout", None
        env.init_duration_ms = (self._clock.monotonic() - started) * 1000
        if kind == "ok":
            if self._cgroups is not None and group is not None and self._cpu_limits:
                self._cgroups.limit_cpu(group, env.spec.memory_mb)
            env.move(EnvState.READY)
            return
        if kind == "error" and isinstance(detail, RuntimeReply):
            failure = InitFailure(reply=detail)
        elif kind == "exit" and isinstance(detail, int):
            oom = (
                self._cgroups is not None and group is not None and self._cgroups.oom_killed(group)
            )
            failure = InitFailure(exit_status=detail, oom=oom)
        else:
            failure = InitFailure(timed_out=True, init_timeout_s=self._init_timeout_s)
        env.init_failure = failure
        env.drain_logs()
        env.move(EnvState.INIT_FAILED)
        if env.pid is not None and env.exit_status is None:
            self._zygote.kill(env.pid)  # never reused: AWS re-runs Init in a fresh sandbox

    def _refill_stems(self) -> None:
        """Keep a few launchers already inside fresh cgroups (see zygote_main._make_stem)."""
        if self._cgroups is None or not self._started:
            return
        while len(self._stems) < self._warm_sandboxes:
            name = f"stem-{uuid.uuid4().hex[:12]}"
            try:
                group = self._cgroups.create(name, memory_mb=128, pids_max=self._pids_limit)
            except OSError as exc:
                log.warning("could not pre-create a sandbox cgroup: %s", exc)
                return
            self._zygote.make_stem(name, group.procs_files)
            self._stems.append((name, group))

    def _config(
        self,
        spec: EnvironmentSpec,
        env_id: str,
        plan: LaunchPlan,
        api: RuntimeApi,
        stream: str,
        uid: int | None,
        group: EnvCgroup | None,
    ) -> SandboxConfig:
        environ = env_vars.build(
            spec,
            runtime_api=api.address,
            log_stream=stream,
            paths=plan.paths,
            python_version=self._zygote.version,
        )
        return SandboxConfig(
            env_id=env_id,
            isolation=self.isolation,
            environ=environ,
            workdir=plan.paths.task_root,
            argv=plan.argv,
            handler=spec.handler,
            sys_path=plan.sys_path,
            sys_path_tail=plan.sys_path_tail,
            uid=uid or 0,
            gid=uid or 0,
            root_dir=str(self._root_dir),
            binds=plan.binds,
            tmp_mb=spec.ephemeral_storage_mb,
            cgroup_procs=group.procs_files if group else (),
            memory_mb=spec.memory_mb,
            hostname="localhost",
        )

    async def _release(self, env: LocalEnvironment) -> None:
        """Destroy: kill the namespace, remove the cgroup, give the uid back."""
        await env.stop_process()
        group, uid = self._resources.pop(env.id, (None, None))
        if group is not None and self._cgroups is not None:
            self._cgroups.kill_all(group)
            await self._cgroups.remove(group)
        if uid is not None:
            self._uids.release(uid)
        self._envs.pop(env.id, None)


def _find_boto() -> Path | None:
    """The site-packages holding boto3, put at the end of functions' sys.path as Lambda's
    Python runtimes include it."""
    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec("boto3")
        if spec is not None and spec.origin:
            return Path(spec.origin).resolve().parents[1]
    return None


def _node_major(node: str) -> int | None:
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10)
        return int(out.stdout.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
