"""The ``namespaces`` backend (root only): each runtime is PID 1 of its own namespaces, runs
as a uid of its own and lives in a cgroup limiting its memory, pids and (after Init) CPU.

The zygote forks it, from a pre-forked launcher already in a cgroup when the stem pool has
one. What each guarantee means is documented in ``sandbox.enter``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from nimbus.model.invocation import EnvironmentSpec
from nimbus.worker.backend import Launch
from nimbus.worker.sandbox.cgroups import Cgroups, EnvCgroup
from nimbus.worker.sandbox.config import NAMESPACES
from nimbus.worker.sandbox.cpu_policy import CpuLimit
from nimbus.worker.sandbox.forker import ForkedRuntime, Forker, LostRuntime
from nimbus.worker.sandbox.launch import sandbox_config
from nimbus.worker.sandbox.stem_pool import StemPool
from nimbus.worker.sandbox.uid_pool import UidPool

UID_LOCK_DIR = Path("/run/lock/nimbus-uids")


class NamespacesSandbox:
    def __init__(
        self,
        *,
        backend: NamespacesBackend,
        env_id: str,
        memory_mb: int,
        uid: int,
        cgroup: EnvCgroup | None,
        stem: str | None,
    ) -> None:
        self._backend = backend
        self._env_id = env_id
        self._memory_mb = memory_mb
        self._uid = uid
        self.cgroup = cgroup  # None when cgroups cannot be managed on this machine
        self._stem = stem  # a launcher already inside ``cgroup``
        self._runtime: ForkedRuntime | LostRuntime | None = None
        self._released = False

    @property
    def peer_uid(self) -> int | None:
        return self._uid

    async def spawn(self, spec: EnvironmentSpec, launch: Launch) -> ForkedRuntime | LostRuntime:
        forker = self._backend.forker
        plan = forker.plan(spec, launch, namespaces=True)
        joins = self.cgroup.procs_files if self.cgroup is not None and not self._stem else ()
        config = sandbox_config(
            spec,
            plan,
            env_id=self._env_id,
            isolation=NAMESPACES,
            environ=forker.environ(spec, launch, plan),
            uid=self._uid,
            root_dir=self._backend.root_dir,
            cgroup_procs=joins,
        )
        self._runtime = await forker.fork(
            spec,
            config,
            launch.log_fd,
            self._stem,
            oom_killed=self._oom_killed,
            initialized=self._initialized,
        )
        return self._runtime

    def _oom_killed(self) -> bool:
        cgroups = self._backend.cgroups
        return cgroups is not None and self.cgroup is not None and cgroups.oom_killed(self.cgroup)

    def _initialized(self) -> None:
        cgroups = self._backend.cgroups
        if cgroups is not None and self.cgroup is not None:
            cgroups.limit_cpu(self.cgroup, self._memory_mb, self._backend.cpu_limit)

    async def release(self) -> None:
        if self._released:
            return
        self._released = True
        if self._runtime is not None:
            self._runtime.kill()
        await self._backend.free(self._uid, self.cgroup)


class NamespacesBackend:
    def __init__(
        self,
        *,
        forker: Forker,
        root_dir: Path,
        uids: UidPool,
        host_id: str,
        pids_limit: int,
        cpu_limit: CpuLimit,
        warm_sandboxes: int,
        uid_lock_dir: Path = UID_LOCK_DIR,
    ) -> None:
        self.forker = forker
        self.root_dir = root_dir  # empty directory each sandbox's root tmpfs is mounted on
        self.cpu_limit = cpu_limit  # weights or a hard quota, after Init (cpu_policy)
        self.cgroups: Cgroups | None = None
        self._uids = uids
        self._host_id = host_id
        self._pids_limit = pids_limit
        self._warm = warm_sandboxes
        self._uid_lock_dir = uid_lock_dir
        self._stems: StemPool | None = None

    @property
    def isolation(self) -> str:
        return NAMESPACES

    async def start(self) -> None:
        self.root_dir.mkdir(parents=True, exist_ok=True)
        self._uids.claim_block(self._uid_lock_dir)
        self.cgroups = Cgroups.open(self._host_id)
        await self.forker.start()
        if self.cgroups is not None:
            self._stems = StemPool(
                cgroups=self.cgroups,
                make_stem=self.forker.zygote.make_stem,
                size=self._warm,
                pids_limit=self._pids_limit,
            )
            self._stems.refill()

    async def close(self) -> None:
        await self.forker.close()
        if self._stems is not None:
            await self._stems.close()
        if self.cgroups is not None:
            self.cgroups.close()
        self._uids.close()

    def runnable_runtimes(self) -> Sequence[str]:
        return self.forker.runnable_runtimes()

    async def reserve(self, env_id: str, spec: EnvironmentSpec) -> NamespacesSandbox:
        uid = self._uids.acquire()
        stem: str | None = None
        group: EnvCgroup | None = None
        try:
            if self.cgroups is not None:
                # Stems are launchers of the base zygote: no use to another Python's zygote.
                usable = self._stems is not None and self.forker.uses_stems(spec)
                taken = self._stems.take() if self._stems is not None and usable else None
                if taken is not None:
                    stem, group = taken
                    self.cgroups.set_limits(
                        group, memory_mb=spec.memory_mb, pids_max=self._pids_limit
                    )
                else:
                    group = self.cgroups.create(
                        env_id, memory_mb=spec.memory_mb, pids_max=self._pids_limit
                    )
        except BaseException:
            await self.free(uid, group)
            raise
        return NamespacesSandbox(
            backend=self,
            env_id=env_id,
            memory_mb=spec.memory_mb,
            uid=uid,
            cgroup=group,
            stem=stem,
        )

    async def free(self, uid: int, group: EnvCgroup | None) -> None:
        """Kill what is left in the cgroup, remove it, and give the uid back."""
        if group is not None and self.cgroups is not None:
            self.cgroups.kill_all(group)
            await self.cgroups.remove(group)
        self._uids.release(uid)
