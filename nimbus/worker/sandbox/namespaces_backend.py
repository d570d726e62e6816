"""The ``namespaces`` backend (root only): each runtime is PID 1 of its own namespaces, runs
as a uid of its own and lives in a cgroup limiting its memory, pids and (after Init) CPU.

The zygote forks it, from a pre-forked launcher already in a cgroup when the stem pool has
one. What each guarantee means is documented in ``sandbox.enter``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
from collections.abc import Sequence
from pathlib import Path

from nimbus.model.invocation import EnvironmentSpec
from nimbus.worker.backend import Launch
from nimbus.worker.sandbox.cgroups import Cgroups, EnvCgroup
from nimbus.worker.sandbox.config import NAMESPACES
from nimbus.worker.sandbox.cpu_policy import CpuLimit
from nimbus.worker.sandbox.ephemeral import EphemeralDisks, TmpDisk
from nimbus.worker.sandbox.forker import ForkedRuntime, Forker, LostRuntime
from nimbus.worker.sandbox.launch import sandbox_config
from nimbus.worker.sandbox.network import FunctionNetwork
from nimbus.worker.sandbox.network_namespace import Netns
from nimbus.worker.sandbox.stem_pool import StemPool
from nimbus.worker.sandbox.uid_pool import UID_LOCK_DIR, UidPool


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
        netns: Netns | None = None,
        tmp: TmpDisk | None = None,
    ) -> None:
        self._backend = backend
        self._tmp = tmp  # its /tmp disk; None: a tmpfs
        self._netns = netns  # its own network namespace; None: the host's network
        self._env_id = env_id
        self._memory_mb = memory_mb
        self._uid = uid
        self.cgroup = cgroup  # None when cgroups cannot be managed on this machine
        self._stem = stem  # a launcher already inside ``cgroup``
        self._runtime: ForkedRuntime | LostRuntime | None = None
        self._released = False
        self._freezer_fd: int | None = None  # opened on the first freeze, closed on release

    @property
    def peer_uid(self) -> int | None:
        # In its own network namespace only this sandbox can reach its Runtime API.
        return self._uid if self._netns is None else None

    def runtime_api_socket(self) -> socket.socket | None:
        network = self._backend.network
        if self._netns is None or network is None:
            return None
        return network.listening_socket(self._netns)

    async def spawn(self, spec: EnvironmentSpec, launch: Launch) -> ForkedRuntime | LostRuntime:
        forker = self._backend.forker
        plan = forker.plan(spec, launch, namespaces=True)
        joins = self.cgroup.procs_files if self.cgroup is not None and not self._stem else ()
        config = sandbox_config(
            spec,
            plan,
            env_id=self._env_id,
            isolation=NAMESPACES,
            environ=forker.environ(self._seen_spec(spec), launch, plan),
            uid=self._uid,
            root_dir=self._backend.root_dir,
            cgroup_procs=joins,
        )
        network = self._backend.network
        if self._netns is not None and network is not None and network.binds:
            config = dataclasses.replace(config, binds=(*config.binds, *network.binds))
        if self._released:  # its namespace and disk are gone: it must not start without
            return LostRuntime()
        # The namespace and the disk go to the sandbox as fds of its own (SCM_RIGHTS), taken
        # before fork() first yields: a release may close ours at any time after that.
        runtime = await forker.fork(
            spec,
            config,
            launch.log_fd,
            self._stem,
            oom_killed=self._oom_killed,
            initialized=self._initialized,
            set_frozen=self._set_frozen,
            netns_fd=None if self._netns is None else self._netns.fd,
            tmp_fd=None if self._tmp is None else self._tmp.mount_fd,
        )
        self._runtime = runtime  # kept: its exit is still reported through it
        if self._released:
            # Released while the fork was awaited: release() found no runtime to kill, and
            # its uid, address and /tmp are already given back, so it must not run on.
            runtime.kill()
            return LostRuntime()
        return runtime

    def _seen_spec(self, spec: EnvironmentSpec) -> EnvironmentSpec:
        """The spec as the function's environment variables show it: in its own network,
        AWS_ENDPOINT_URL names the gateway, the one address where it reaches Nimbus."""
        network = self._backend.network
        if self._netns is None or network is None or not spec.endpoint_url:
            return spec
        return dataclasses.replace(spec, endpoint_url=network.endpoint_url)

    def _free_netns(self) -> None:
        """Close our descriptor of the namespace: a launcher still joining it holds its own."""
        netns, network = self._netns, self._backend.network
        if netns is not None and network is not None:
            self._netns = None
            network.release(netns)

    def _set_frozen(self, frozen: bool) -> bool:
        cgroups = self._backend.cgroups
        if cgroups is None or self.cgroup is None or self._released:
            return False
        if self._freezer_fd is None:
            self._freezer_fd = cgroups.freezer_fd(self.cgroup)
            if self._freezer_fd is None:
                return False
        return cgroups.set_frozen(self.cgroup, self._freezer_fd, frozen)

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
        if self._freezer_fd is not None:
            os.close(self._freezer_fd)
            self._freezer_fd = None
        await self._backend.free(self._uid, self.cgroup)
        self._free_netns()
        self._free_tmp()

    def _free_tmp(self) -> None:
        """Give the /tmp disk back now: the sandbox holds references of its own (its /tmp,
        or a late launcher's fd), so our fd's number can be reused safely. Its runtime was
        killed first; anything of it still writing gets I/O errors once the filesystem is
        shut down, and its data is not worth keeping."""
        tmp, self._tmp = self._tmp, None
        if tmp is not None:
            self._backend.disks.release(tmp)


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
        network: FunctionNetwork | None = None,
    ) -> None:
        self.forker = forker
        self.network = network  # isolated function networks; None: the host's network
        self.root_dir = root_dir  # empty directory each sandbox's root tmpfs is mounted on
        self.cpu_limit = cpu_limit  # weights or a hard quota, after Init (cpu_policy)
        self.cgroups: Cgroups | None = None
        self._uids = uids
        self._host_id = host_id
        self._pids_limit = pids_limit
        self._warm = warm_sandboxes
        self._uid_lock_dir = uid_lock_dir
        self._stems: StemPool | None = None
        self.disks = EphemeralDisks(
            directory=root_dir.parent / "tmp-disks", host_id=host_id, pool_size=warm_sandboxes
        )

    @property
    def isolation(self) -> str:
        return NAMESPACES

    async def start(self) -> None:
        """Claim what this host needs; on any failure give back, in reverse, whatever was
        already claimed (host lock and cgroup parents, uid block, bridge and nft table,
        zygote, disks), so a host that cannot start leaves nothing behind."""
        self.root_dir.mkdir(parents=True, exist_ok=True)
        async with contextlib.AsyncExitStack() as undo:
            # Cgroups first: opening them kills what dead hosts left running (frozen tasks
            # thawed), so the uid block claimed next is free of their survivors. Both may
            # wait for the kernel to reap killed tasks: off the event loop.
            self.cgroups = await asyncio.to_thread(Cgroups.open, self._host_id)
            if self.cgroups is not None:
                undo.callback(self.cgroups.close)
            await asyncio.to_thread(self._uids.claim_block, self._uid_lock_dir)
            undo.callback(self._uids.close)
            if self.network is not None:
                undo.push_async_callback(self.network.close)  # also after a partial start
                await self.network.start()
            undo.push_async_callback(self.forker.close)
            await self.forker.start()
            undo.push_async_callback(self.disks.close)
            await self.disks.start()  # after Cgroups.open killed dead hosts' sandboxes
            undo.pop_all()  # started: close() gives it all back
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
        await self.disks.close()
        if self._stems is not None:
            await self._stems.close()
        if self.cgroups is not None:
            self.cgroups.close()
        if self.network is not None:
            await self.network.close()
        self._uids.close()

    def runnable_runtimes(self) -> Sequence[str]:
        return self.forker.runnable_runtimes()

    async def reserve(self, env_id: str, spec: EnvironmentSpec) -> NamespacesSandbox:
        netns = await self.network.take() if self.network is not None else None
        try:
            uid = self._uids.acquire()
        except BaseException:
            if netns is not None and self.network is not None:
                self.network.release(netns)
            raise
        stem: str | None = None
        group: EnvCgroup | None = None
        tmp: TmpDisk | None = None
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
            tmp = await self.disks.take(spec.ephemeral_storage_mb)
        except BaseException:
            await self.free(uid, group)
            if netns is not None and self.network is not None:
                self.network.release(netns)
            raise
        return NamespacesSandbox(
            backend=self,
            env_id=env_id,
            memory_mb=spec.memory_mb,
            uid=uid,
            cgroup=group,
            stem=stem,
            netns=netns,
            tmp=tmp,
        )

    async def free(self, uid: int, group: EnvCgroup | None) -> None:
        """Kill what is left in the cgroup, remove it, and give the uid back: as known
        unused only when the cgroup was removed (no process of the sandbox can be left)."""
        emptied = False
        if group is not None and self.cgroups is not None:
            self.cgroups.kill_all(group)
            emptied = await self.cgroups.remove(group)
        self._uids.release(uid, emptied=emptied)
