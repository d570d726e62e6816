"""Removing the cgroup trees a dead worker host left behind, at start-up.

A host killed with ``kill -9`` never removes its ``nimbus-<host id>`` cgroup parents, and
whatever still ran in its sandboxes keeps running there (and under its uids). Each host
start therefore kills every process in the trees of hosts that are dead
(``sandbox.host_lock``) and removes the trees bottom-up; a live host's trees are never
touched, which matters because several servers share a machine (the test suite runs many).

Killing a whole tree: on cgroup v2, ``cgroup.kill`` (Linux 5.14) SIGKILLs every process in
the subtree, frozen ones included. On v1 there is no such file, and a task frozen by the v1
freezer does not act on SIGKILL until it is thawed; so every frozen cgroup of the tree is
thawed first, then each pid in every ``cgroup.procs`` is killed, again until none is left
(a process may fork while its siblings die).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from nimbus.worker.sandbox import host_lock

log = logging.getLogger(__name__)

HOST_DIR = re.compile(r"nimbus-([0-9a-f]{8,32})")
ZYGOTE_MARK = b"nimbus.worker.sandbox.zygote_server"


def host_id_of(name: str) -> str | None:
    """The host id of a host parent's directory name (pure): ``nimbus-<hex>``; None for
    anything else (``nimbus-leaf``, a stem, an environment)."""
    match = HOST_DIR.fullmatch(name)
    return match.group(1) if match else None


@dataclass(frozen=True, kw_only=True)
class Swept:
    trees: int  # cgroup trees removed
    killed: int  # processes killed in them
    left: int  # trees that could not be removed (logged)


def _descendants(top: Path) -> list[Path]:
    """``top`` and every cgroup below it, deepest first (the order rmdir needs)."""
    found: list[Path] = []
    for dirpath, _, _ in os.walk(top, topdown=False):
        found.append(Path(dirpath))
    return found


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


def _thaw(dirs: Iterable[Path]) -> None:
    """Thaw every frozen cgroup of a tree (v1: each one frozen by itself must be thawed by
    itself; thawing a parent does not thaw it)."""
    for path in dirs:
        if (path / "freezer.state").exists():
            _write(path / "freezer.state", "THAWED")
        elif (path / "cgroup.freeze").exists():
            _write(path / "cgroup.freeze", "0")


def reap_tree(top: Path, *, wait_s: float = 2.0) -> tuple[bool, int]:
    """Kill everything in the cgroup tree ``top`` and remove it, waiting at most ``wait_s``
    for the kernel to let the processes go: (removed, processes killed). On v1 the same
    processes are in the host's freezer tree too: thaw that first (``thaw_tree``)."""
    dirs = _descendants(top)
    if not dirs:
        return True, 0
    _thaw(dirs)
    killed: set[int] = set()
    if (top / "cgroup.kill").exists():
        killed |= _pids(dirs)
        _write(top / "cgroup.kill", "1")
    deadline = time.monotonic() + wait_s
    delay = 0.002
    while True:
        pids = _pids(dirs)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed |= pids
        for path in dirs:
            with contextlib.suppress(FileNotFoundError, OSError):
                path.rmdir()
        if not top.exists():
            return True, len(killed)
        if time.monotonic() >= deadline:
            return False, len(killed)
        time.sleep(delay)  # killed tasks leave their cgroup once the kernel has reaped them
        delay = min(delay * 2, 0.05)


def thaw_tree(top: Path) -> None:
    _thaw(_descendants(top))


def _parent(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return int(next((line.split()[1] for line in status.splitlines() if line[:5] == "PPid:"), 0))


def _is_zygote(pid: int) -> bool:
    try:
        return ZYGOTE_MARK in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def served(top: Path) -> bool:
    """Whether a tree made without a lock file (by a Nimbus from before host locks) is
    still served: the parent of one of its processes, outside the tree, is a running zygote
    (the runtimes' reaper, which dies with its host: PR_SET_PDEATHSIG). A dead host's
    survivors were reparented to init. Only parents outside the tree count: a runtime
    forked from the zygote carries the zygote's command line too, and a function could
    write anything into its own."""
    pids = _pids(_descendants(top))
    for pid in pids:
        parent = _parent(pid)
        if parent > 1 and parent not in pids and _is_zygote(parent):
            return True
    return False


def sweep(lock_dir: Path, *, own: str, roots: Iterable[Path]) -> Swept:
    """Remove the trees of dead hosts: those their lock files name, and every
    ``nimbus-<id>`` directory under ``roots`` (where this host makes its own parents) whose
    host has no lock file and no process served by a zygote. Never raises."""
    trees = killed = left = 0

    def reap(tops: list[Path]) -> None:
        nonlocal trees, killed, left
        # One host's processes are in each of its v1 trees (memory, pids, cpu, freezer): a
        # frozen one dies in none of them until its freezer cgroup is thawed.
        for top in tops:
            thaw_tree(top)
        for top in tops:
            removed, count = reap_tree(top)
            killed += count
            if removed:
                trees += 1
            else:
                left += 1
                log.warning("could not remove the leftover cgroup %s", top)

    try:
        with host_lock.dead_hosts(lock_dir, own=own) as dead:
            reap(
                [
                    path
                    for host in dead
                    for path in host.paths
                    if path.is_dir() and host_id_of(path.name) == host.host_id
                ]
            )
        unowned: list[Path] = []
        for root in roots:
            for entry in sorted(root.iterdir()) if root.is_dir() else []:
                host_id = host_id_of(entry.name)
                if host_id is None or host_id == own or not entry.is_dir():
                    continue
                # Listed before the lock is looked at: a host makes its lock file before its
                # directories, so a directory without one is not a host still starting.
                if host_lock.host_alive(lock_dir, host_id) is not None or served(entry):
                    continue
                unowned.append(entry)
        reap(unowned)
    except OSError as exc:
        log.warning("could not clean up cgroups of earlier runs: %s", exc)
    if trees or left:
        log.info(
            "removed %d cgroup trees of dead hosts (%d processes killed, %d left)",
            trees,
            killed,
            left,
        )
    return Swept(trees=trees, killed=killed, left=left)
