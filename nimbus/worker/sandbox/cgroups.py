"""Per-environment cgroups, on cgroup v1 (one hierarchy per controller) or v2 (unified).

Each host makes a parent ``nimbus-<host id>`` under its own process's cgroup (so it stays
inside whatever limits the machine already puts on Nimbus), and one child per environment:
memory limit = MemorySize (no swap), a pids limit, and after Init CPU proportional to memory
(1,769 MB = one vCPU, as AWS documents): weights by default, or a hard quota
(``sandbox.cpu_policy`` decides the values). The memory peak of the cgroup is not used
for "Max Memory Used": pages shared with the zygote are not charged to it.

Idle environments are frozen between invocations, as AWS freezes them: cgroup v2's
``cgroup.freeze``, or the v1 ``freezer`` hierarchy (``freezer.state`` FROZEN/THAWED) when it
is mounted. Freezing is asynchronous (v1 passes through FREEZING); nothing waits for it.

A host holds a lock file (``sandbox.host_lock``) naming its parents for its lifetime, and at
start-up removes the trees of dead hosts (``sandbox.orphans``), killing what still runs in
them: no sandbox outlives its server's next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from nimbus.errors import ServiceError
from nimbus.worker.sandbox import orphans
from nimbus.worker.sandbox.cpu_policy import CpuLimit, burst_file, cpu_writes
from nimbus.worker.sandbox.host_lock import LOCK_DIR, HostLock

log = logging.getLogger(__name__)

ROOT = Path("/sys/fs/cgroup")
V1_CONTROLLERS = ("memory", "pids", "cpu")
V1_FREEZER = "freezer"  # optional: without it environments are not frozen when idle
# What freezes (True) or thaws a cgroup, by hierarchy: v2's cgroup.freeze, v1's freezer.state.
FREEZE_VALUES = {
    True: {True: b"1", False: b"0"},
    False: {True: b"FROZEN", False: b"THAWED"},
}


@dataclass(frozen=True, kw_only=True)
class EnvCgroup:
    dirs: tuple[Path, ...]  # every directory made for this environment
    memory_dir: Path
    pids_dir: Path
    cpu_dir: Path
    v2: bool
    freezer_dir: Path | None = None  # None: this machine cannot freeze it

    @property
    def procs_files(self) -> tuple[str, ...]:
        return tuple(str(d / "cgroup.procs") for d in self.dirs)


def _own_cgroup(controller: str | None) -> str:
    """This process's cgroup path for a v1 controller, or the unified one (None)."""
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if controller is None and controllers == "":
            return path
        if controller is not None and controller in controllers.split(","):
            return path
    return "/"


def _write(path: Path, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


class Cgroups:
    """Creates, limits, inspects and removes environment cgroups for one host."""

    def __init__(self, *, v2: bool, parents: dict[str, Path], lock: HostLock | None = None) -> None:
        self._v2 = v2
        self._parents = parents  # controller ("unified" on v2) -> this host's parent dir
        self._lock = lock  # held while this host lives: its cgroups are not an orphan's
        if v2:
            self.freezer = (parents["unified"] / "cgroup.freeze").exists()
        else:
            self.freezer = V1_FREEZER in parents
        # CFS burst came with Linux 5.14: its file in the parent cpu cgroup says if we have it.
        cpu_parent = parents.get("unified" if v2 else "cpu")
        self.cpu_burst = cpu_parent is not None and (cpu_parent / burst_file(v2)).exists()
        self._cpu_warned = False

    @classmethod
    def open(cls, host_id: str, *, lock_dir: Path = LOCK_DIR) -> Cgroups | None:
        """The host's cgroup parents, or None (logged) when cgroups cannot be managed here.
        First removes the cgroup trees dead hosts left, killing what runs in them. Raises
        ServiceError when the host lock cannot be held (``host_lock.private_dir``). Blocks
        (up to seconds when there are leftovers): run it off the event loop."""
        try:
            lock: HostLock | None = HostLock.acquire(lock_dir, host_id)
        except OSError as exc:
            # Unlocked, this host's trees would look dead to the next host to start, which
            # would kill its sandboxes: refuse to start instead.
            raise ServiceError(f"Cannot hold the host lock in {lock_dir}: {exc}") from exc
        try:
            if (ROOT / "cgroup.controllers").exists():
                return cls._open_v2(host_id, lock, lock_dir)
            if all((ROOT / c).is_dir() for c in V1_CONTROLLERS):
                controllers = V1_CONTROLLERS + (
                    (V1_FREEZER,) if (ROOT / V1_FREEZER / "cgroup.procs").exists() else ()
                )
                bases = {c: ROOT / c / _own_cgroup(c).lstrip("/") for c in controllers}
                orphans.sweep(lock_dir, own=host_id, roots=bases.values())
                parents = {c: base / f"nimbus-{host_id}" for c, base in bases.items()}
                if lock is not None:
                    lock.record(parents.values())
                for parent in parents.values():
                    parent.mkdir(exist_ok=True)
                log.info("sandbox cgroups: nimbus-%s (v1: %s)", host_id, ", ".join(controllers))
                return cls(v2=False, parents=parents, lock=lock)
        except OSError as exc:
            log.warning("cgroups unavailable (%s): memory, pids and CPU are not limited", exc)
            if lock is not None:
                lock.release()
            return None
        log.warning("no cgroup v1 or v2 controllers found: memory, pids and CPU are not limited")
        if lock is not None:
            lock.release()
        return None

    @classmethod
    def _open_v2(cls, host_id: str, lock: HostLock | None, lock_dir: Path) -> Cgroups:
        base = ROOT / _own_cgroup(None).lstrip("/")
        wanted = {"memory", "pids", "cpu"}
        enabled = set((base / "cgroup.subtree_control").read_text().split())
        if not wanted <= enabled:
            try:
                _write(base / "cgroup.subtree_control", "+memory +pids +cpu")
            except OSError:
                # "No internal processes": a cgroup with members cannot delegate controllers.
                # Move this cgroup's processes into a leaf first, as container inits do.
                leaf = base / "nimbus-leaf"
                leaf.mkdir(exist_ok=True)
                for pid in (base / "cgroup.procs").read_text().split():
                    with contextlib.suppress(OSError):
                        _write(leaf / "cgroup.procs", pid)
                _write(base / "cgroup.subtree_control", "+memory +pids +cpu")
        orphans.sweep(lock_dir, own=host_id, roots=(base,))
        parent = base / f"nimbus-{host_id}"
        if lock is not None:
            lock.record((parent,))
        parent.mkdir(exist_ok=True)
        _write(parent / "cgroup.subtree_control", "+memory +pids +cpu")
        log.info("sandbox cgroups: nimbus-%s (v2)", host_id)
        return cls(v2=True, parents={"unified": parent}, lock=lock)

    def create(self, name: str, *, memory_mb: int, pids_max: int) -> EnvCgroup:
        if self._v2:
            path = self._parents["unified"] / name
            path.mkdir()
            group = EnvCgroup(
                dirs=(path,),
                memory_dir=path,
                pids_dir=path,
                cpu_dir=path,
                v2=True,
                freezer_dir=path if self.freezer else None,
            )
        else:
            dirs = {c: parent / name for c, parent in self._parents.items()}
            for path in dirs.values():
                path.mkdir()
            group = EnvCgroup(
                dirs=tuple(dirs.values()),
                memory_dir=dirs["memory"],
                pids_dir=dirs["pids"],
                cpu_dir=dirs["cpu"],
                v2=False,
                freezer_dir=dirs.get(V1_FREEZER),
            )
        self.set_limits(group, memory_mb=memory_mb, pids_max=pids_max)
        return group

    def set_limits(self, group: EnvCgroup, *, memory_mb: int, pids_max: int) -> None:
        memory = str(memory_mb * 1024 * 1024)
        if group.v2:
            _write(group.memory_dir / "memory.max", memory)
            with contextlib.suppress(OSError):
                _write(group.memory_dir / "memory.swap.max", "0")
            _write(group.pids_dir / "pids.max", str(pids_max))
            return
        # memsw (memory+swap) must stay >= the memory limit: order the writes accordingly.
        memsw = group.memory_dir / "memory.memsw.limit_in_bytes"
        current = int((group.memory_dir / "memory.limit_in_bytes").read_text())
        if int(memory) > current:
            with contextlib.suppress(OSError):  # absent without swap accounting
                _write(memsw, memory)
            _write(group.memory_dir / "memory.limit_in_bytes", memory)
        else:
            _write(group.memory_dir / "memory.limit_in_bytes", memory)
            with contextlib.suppress(OSError):
                _write(memsw, memory)
        _write(group.pids_dir / "pids.max", str(pids_max))

    def limit_cpu(self, group: EnvCgroup, memory_mb: int, limit: CpuLimit) -> None:
        """Applied after Init: a quota during Init made cold starts take ~350 ms, and Init
        on AWS is not held to the function's share either. Never raises: an environment
        whose CPU cannot be limited still runs (logged)."""
        writes = cpu_writes(
            limit, memory_mb, v2=group.v2, cpus=os.cpu_count() or 1, burst=self.cpu_burst
        )
        try:
            for name, value in writes:
                _write(group.cpu_dir / name, value)
        except OSError as exc:
            if not self._cpu_warned:  # once: it fails the same way for every environment
                self._cpu_warned = True
                log.warning("could not limit CPU of %s (%s)", group.cpu_dir, exc)

    def oom_killed(self, group: EnvCgroup) -> bool:
        try:
            if group.v2:
                text = (group.memory_dir / "memory.events").read_text()
                key = "oom_kill"
            else:
                text = (group.memory_dir / "memory.oom_control").read_text()
                key = "oom_kill"
        except OSError:
            return False
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name == key and int(value) > 0:
                return True
        if not group.v2:  # kernels before 4.13 lack the oom_kill counter
            with contextlib.suppress(OSError, ValueError):
                limit = int((group.memory_dir / "memory.limit_in_bytes").read_text())
                peak = int((group.memory_dir / "memory.max_usage_in_bytes").read_text())
                return peak >= limit and "oom_kill" not in text
        return False

    def freezer_fd(self, group: EnvCgroup) -> int | None:
        """An open descriptor of the group's freeze file, for ``set_frozen``; None when the
        group cannot be frozen. The caller closes it."""
        if group.freezer_dir is None:
            return None
        name = "cgroup.freeze" if group.v2 else "freezer.state"
        try:
            return os.open(group.freezer_dir / name, os.O_WRONLY | os.O_CLOEXEC)
        except OSError as exc:
            log.warning("cannot freeze %s: %s", group.freezer_dir, exc)
            return None

    @staticmethod
    def set_frozen(group: EnvCgroup, fd: int, frozen: bool) -> bool:
        """Freeze or thaw every process of the group (one write; the kernel finishes a
        freeze asynchronously). Measured on Linux 6.18: ~75 us each way on v1, ~5 us on v2.
        Never raises: False when the write failed."""
        value = FREEZE_VALUES[group.v2][frozen]
        try:
            os.pwrite(fd, value, 0)
        except OSError:
            return False
        return True

    def kill_all(self, group: EnvCgroup) -> None:
        """SIGKILL whatever is still in the cgroup (belt and braces after killing PID 1):
        v2's ``cgroup.kill``, else each pid checked through a pidfd with the v1 freezer
        cgroup frozen meanwhile (``orphans.kill_in``: a recycled pid is never signalled)."""
        if group.v2:
            try:
                _write(group.dirs[0] / "cgroup.kill", "1")
                return
            except OSError:
                pass  # before Linux 5.14: no cgroup.kill
        orphans.kill_in(
            list(group.dirs),
            trees=group.dirs,
            freezer=None if group.v2 else group.freezer_dir,
            freeze_wait_s=0.0,  # on the event loop
        )

    async def remove(self, group: EnvCgroup) -> bool:
        """rmdir each directory, retrying while the kernel finishes tearing down tasks.
        True when every one is gone (so no process of the group is left)."""
        removed = True
        for path in group.dirs:
            for attempt in range(200):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if attempt % 20 == 19:
                        self.kill_all(group)
                    await asyncio.sleep(0.005)
            else:
                removed = False
                log.warning("could not remove cgroup %s", path)
        return removed

    def close(self) -> None:
        """Remove this host's parents and drop its lock; a parent that cannot be removed
        (something is still in it) keeps the lock file, so the next host removes it."""
        left = False
        for parent in self._parents.values():
            try:
                parent.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                left = True
        if self._lock is not None:
            self._lock.release(keep=left)
            self._lock = None
