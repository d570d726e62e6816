"""Removing the cgroup trees a dead worker host left behind, at start-up, and killing every
process of a cgroup without ever signalling a process that is not in it.

A host killed with ``kill -9`` never removes its ``nimbus-<host id>`` cgroup parents, and
whatever still ran in its sandboxes keeps running there (and under its uids). Each host
start therefore kills every process in the trees that the lock files of dead hosts name
(``sandbox.host_lock``) and removes the trees bottom-up. Only those: a ``nimbus-<id>``
directory without a lock file may belong to a live server this one cannot see (another pid
namespace or container sharing the cgroupfs, or a private ``/run``), so it is only logged.

Killing: on cgroup v2, ``cgroup.kill`` (Linux 5.14) SIGKILLs every process in the subtree,
frozen ones included, with no pid in between. Without it, pids are read from
``cgroup.procs``, and a pid read there may be recycled by the time it is signalled: each is
opened as a pidfd (which pins the process), checked to be in the tree still
(``/proc/<pid>/cgroup``), and signalled through the pidfd. On v1 the tree is frozen first
(so nothing forks while it is emptied; frozen tasks cannot exit), then thawed, because a
frozen v1 task acts on SIGKILL only once thawed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from nimbus.worker.sandbox import host_lock

log = logging.getLogger(__name__)

HOST_DIR = re.compile(r"nimbus-([0-9a-f]{8,32})")
ROOT = Path("/sys/fs/cgroup")
Sleep = Callable[[float], None]
Monotonic = Callable[[], float]


def host_id_of(name: str) -> str | None:
    """The host id of a host parent's directory name (pure): ``nimbus-<hex>``; None for
    anything else (``nimbus-leaf``, a stem, an environment)."""
    match = HOST_DIR.fullmatch(name)
    return match.group(1) if match else None


def member_of(proc_cgroup: str, tree: Path, root: Path = ROOT) -> bool:
    """Whether a ``/proc/<pid>/cgroup`` text puts the process in ``tree`` or below (pure).
    A v1 line names its hierarchy by its controllers (``4:cpu,cpuacct:/x``), mounted at
    ``<root>/cpu,cpuacct`` and linked as ``<root>/cpu``; a v2 line (``0::/x``) at ``root``."""
    for line in proc_cgroup.splitlines():
        _, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        names = [controllers, *controllers.split(",")] if controllers else [""]
        for name in names:
            where = (root / name / path.lstrip("/")) if name else (root / path.lstrip("/"))
            if where == tree or tree in where.parents:
                return True
    return False


@dataclass(frozen=True, kw_only=True)
class Swept:
    trees: int  # cgroup trees removed
    killed: int  # processes killed in them
    left: int  # trees that could not be removed (logged)
    unowned: int = 0  # host trees without a lock file, left alone (logged)


def descendants(top: Path) -> list[Path]:
    """``top`` and every cgroup below it, deepest first (the order rmdir needs)."""
    return [Path(dirpath) for dirpath, _, _ in os.walk(top, topdown=False)]


def _pids(dirs: Iterable[Path]) -> set[int]:
    pids: set[int] = set()
    for path in dirs:
        with contextlib.suppress(OSError, ValueError):
            pids.update(int(p) for p in (path / "cgroup.procs").read_text().split())
    return pids


def _write(path: Path, value: str) -> bool:
    try:
        with open(path, "w") as handle:
            handle.write(value)
    except OSError:
        return False
    return True


def _freeze_file(path: Path) -> tuple[str, str, str] | None:
    """The freeze file of a cgroup and its frozen/thawed values; None if it has none."""
    if (path / "freezer.state").exists():
        return "freezer.state", "FROZEN", "THAWED"
    if (path / "cgroup.freeze").exists():
        return "cgroup.freeze", "1", "0"
    return None


def thaw(dirs: Iterable[Path]) -> None:
    """Thaw every cgroup of ``dirs`` (v1: one frozen by itself must be thawed by itself;
    thawing a parent does not thaw it)."""
    for path in dirs:
        found = _freeze_file(path)
        if found is not None:
            _write(path / found[0], found[2])


def _freeze(top: Path, *, monotonic: Monotonic, sleep: Sleep, wait_s: float) -> bool:
    """Freeze the v1 freezer cgroup ``top`` with all below it and wait (bounded) until the
    kernel says FROZEN: from then on none of its tasks forks or exits."""
    if not _write(top / "freezer.state", "FROZEN"):
        return False
    deadline = monotonic() + wait_s
    while True:
        with contextlib.suppress(OSError):
            if (top / "freezer.state").read_text().strip() == "FROZEN":
                return True
        if monotonic() >= deadline:
            return False
        sleep(0.001)


def kill_checked(pid: int, trees: tuple[Path, ...]) -> bool:
    """SIGKILL ``pid`` only if it is still in one of ``trees``. The pidfd names one process
    (whichever has the pid when it is opened) and the signal goes through it, never through
    the pid: a process that got a recycled pid is signalled only if it is in a tree itself,
    and if the pidfd's process dies after the check the signal fails (ESRCH) rather than
    reach a new owner of its pid. True when signalled."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False  # gone
    try:
        text = Path(f"/proc/{pid}/cgroup").read_text()
        if not any(member_of(text, tree) for tree in trees):
            return False
        signal.pidfd_send_signal(fd, signal.SIGKILL)
    except OSError:
        return False  # died meanwhile (ESRCH): the pidfd's process, whoever has its pid now
    finally:
        os.close(fd)
    return True


def kill_in(
    dirs: list[Path],
    *,
    trees: tuple[Path, ...],
    freezer: Path | None,
    freeze_wait_s: float = 0.5,
    monotonic: Monotonic = time.monotonic,
    sleep: Sleep = time.sleep,
) -> set[int]:
    """One round of killing every process in ``dirs`` (cgroups of ``trees``) by pid, for
    hierarchies without ``cgroup.kill``: with the v1 ``freezer`` cgroup of the same tasks
    frozen meanwhile when there is one, waiting at most ``freeze_wait_s`` for it to settle
    (0 on the event loop: the pidfd check alone already keeps recycled pids safe). The
    processes killed."""
    if freezer is not None:
        _freeze(freezer, monotonic=monotonic, sleep=sleep, wait_s=freeze_wait_s)
    killed = {pid for pid in _pids(dirs) if kill_checked(pid, trees)}
    if freezer is not None:
        thaw(descendants(freezer))  # each self-frozen child too, or its tasks never die
    return killed


def reap_host(
    tops: list[Path],
    *,
    wait_s: float = 2.0,
    monotonic: Monotonic = time.monotonic,
    sleep: Sleep = time.sleep,
) -> tuple[int, int, int]:
    """Kill everything in one dead host's cgroup trees (one on v2; one per v1 hierarchy,
    the same tasks in each) and remove them, waiting at most ``wait_s`` for the kernel to
    let the processes go: (trees removed, processes killed, trees left)."""
    tops = [top for top in tops if top.is_dir()]
    freezer = next((t for t in tops if (t / "freezer.state").exists()), None)
    everything = [path for top in tops for path in descendants(top)]
    killer = next((t for t in tops if (t / "cgroup.kill").exists()), None)
    killed: set[int] = set()
    if killer is not None:
        killed = _pids(descendants(killer))  # counted only: cgroup.kill signals them
        if not _write(killer / "cgroup.kill", "1"):
            killer = None  # refused (or gone): kill them one by one below instead
            killed = set()
    deadline = monotonic() + wait_s
    delay = 0.002
    while True:
        if killer is None:
            killed |= kill_in(
                everything, trees=tuple(tops), freezer=freezer, monotonic=monotonic, sleep=sleep
            )
        for path in everything:
            with contextlib.suppress(OSError):
                path.rmdir()
        left = [top for top in tops if top.exists()]
        if not left or monotonic() >= deadline:
            return len(tops) - len(left), len(killed), len(left)
        sleep(delay)  # killed tasks leave their cgroup once the kernel has reaped them
        delay = min(delay * 2, 0.05)


def sweep(lock_dir: Path, *, own: str, roots: Iterable[Path]) -> Swept:
    """Remove the trees the lock files of dead hosts name, killing what runs in them; log
    ``nimbus-<id>`` directories under ``roots`` that no lock file accounts for. Never
    raises."""
    trees = killed = left = unowned = 0
    try:
        with host_lock.dead_hosts(lock_dir, own=own) as dead:
            for host in dead:
                removed, count, stuck = reap_host(
                    [path for path in host.paths if host_id_of(path.name) == host.host_id]
                )
                trees, killed, left = trees + removed, killed + count, left + stuck
                if stuck:
                    log.warning("could not remove the cgroups of dead host %s", host.host_id)
        for root in roots:
            for entry in sorted(root.iterdir()) if root.is_dir() else []:
                host_id = host_id_of(entry.name)
                if host_id is None or host_id == own or not entry.is_dir():
                    continue
                if host_lock.host_alive(lock_dir, host_id) is None:
                    unowned += 1
                    log.warning(
                        "cgroup %s has no host lock file: left alone (it may be a live server "
                        "this one cannot see; remove it by hand if it is not)",
                        entry,
                    )
    except OSError as exc:
        log.warning("could not clean up cgroups of earlier runs: %s", exc)
    if trees or left:
        log.info(
            "removed %d cgroup trees of dead hosts (%d processes killed, %d left)",
            trees,
            killed,
            left,
        )
    return Swept(trees=trees, killed=killed, left=left, unowned=unowned)
