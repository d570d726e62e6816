"""Unprivileged uids for sandboxes, one per live environment, reused once it is gone.

A uid is reused only when no process runs under it any more (``sandbox.uid_owners``): the
Runtime API trusts a uid to mean one environment, so a survivor still running under a reused
uid would receive the new environment's events.

Blocks are never emptied by killing: a process under a uid may belong to someone else
(rootless containers get ``/etc/subuid`` ranges, which Debian and Ubuntu start at 100,000),
so a block in which anything runs, or which overlaps a uid or gid the machine hands out
(``/etc/passwd``, ``/etc/group``, ``/etc/subuid``, ``/etc/subgid``), is skipped. The
default base lies above 2**31, far from where those tools allocate. Leftovers of a dead
Nimbus are killed through its cgroup tree first (``sandbox.orphans``), so its block is free
again by the time the uids are scanned.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
from collections.abc import Callable, Iterable
from pathlib import Path

from nimbus.errors import ServiceError
from nimbus.worker.sandbox import uid_owners
from nimbus.worker.sandbox.host_lock import private_dir

log = logging.getLogger(__name__)

# 2**31 + 2**24: above every range useradd, systemd (DynamicUser: 61184-65519, nspawn:
# 524288-1879048191) and subuid allocators use, and with 64 blocks of 10,000 still far below
# 2**32 - 1 (-1, "no change" to setresuid). Sandboxes run as uid == gid.
DEFAULT_BASE = 2**31 + 2**24
UID_LOCK_DIR = Path("/run/nimbus/uids")
ETC = Path("/etc")
Scan = Callable[[int, int], dict[int, uid_owners.ProcUids]]
RANGES = "uid-ranges"  # one byte per uid, locked by range (open file description locks)
# struct flock for F_OFD_SETLK: l_type, l_whence, l_start, l_len, l_pid (0), padding.
_FLOCK = "hhqqi4x"


def subid_ranges(text: str) -> list[range]:
    """The id ranges of an ``/etc/subuid`` or ``/etc/subgid`` text (pure): ``name:start:
    count`` lines; anything else is ignored."""
    found: list[range] = []
    for line in text.splitlines():
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
            found.append(range(int(fields[1]), int(fields[1]) + int(fields[2])))
    return found


def account_ids(text: str) -> list[range]:
    """The ids (third field) of an ``/etc/passwd`` or ``/etc/group`` text (pure)."""
    found: list[range] = []
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) > 2 and fields[2].isdigit():
            found.append(range(int(fields[2]), int(fields[2]) + 1))
    return found


def overlaps(block: range, taken: Iterable[range]) -> bool:
    """Whether ``block`` shares an id with any of ``taken`` (pure)."""
    return any(r.start < block.stop and block.start < r.stop for r in taken if len(r))


def machine_ids(etc: Path) -> list[range]:
    """Every uid and gid range the machine hands out, from the files under ``etc``; a
    missing file holds none."""
    taken: list[range] = []
    for name, parse in (
        ("subuid", subid_ranges),
        ("subgid", subid_ranges),
        ("passwd", account_ids),
        ("group", account_ids),
    ):
        try:
            text = (etc / name).read_text(errors="replace")
        except FileNotFoundError:
            continue
        taken += parse(text)
    return taken


def _lock_range(fd: int, start: int, length: int, kind: int) -> bool:
    """Lock (F_WRLCK) or unlock (F_UNLCK) bytes [start, start+length) of ``fd`` without
    waiting. OFD locks belong to the open file, not the process: two pools in one process
    conflict too, and each is dropped when its descriptor closes (or its holder dies)."""
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack(_FLOCK, kind, os.SEEK_SET, start, length, 0))
    except OSError:
        return False
    return True


class UidPool:
    """Hands out uids from ``[base, base + count)``, or from the block ``claim_block`` took.

    Several hosts may share a machine (tests, a second node): each claims its own block of
    uids with a lock held for its lifetime. The lock dies with its holder, so after a
    ``kill -9`` the next host may take the same block, once nothing runs under it."""

    def __init__(
        self, base: int, count: int, *, scan: Scan = uid_owners.owners, etc: Path = ETC
    ) -> None:
        self._base = base
        self._count = count
        self._start = base  # the block in use
        self._next = base
        self._end = base + count
        self._free: list[int] = []  # released with their sandbox emptied (its cgroup removed)
        self._unsure: list[int] = []  # released with no cgroup to prove they are unused
        self._lock: int | None = None  # held while the block is ours
        self._scan = scan
        self._etc = etc  # where the machine's passwd, group, subuid and subgid files are

    def claim_block(self, lock_dir: Path, blocks: int = 64) -> None:
        """Take the first of ``blocks`` blocks of ``count`` uids that no other live pool
        holds, no process runs under, and the machine does not hand out to anyone else.
        Raises ServiceError when there is none.

        A block is held by an OFD lock on its uids as a byte range of one file, so pools
        with other bases or sizes (a test host at 160,000) conflict wherever their uids
        overlap."""
        taken = machine_ids(self._etc)
        ranges = os.open(
            private_dir(lock_dir) / RANGES,
            os.O_CREAT | os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW,
            0o600,
        )
        for index in range(blocks):
            start = self._base + index * self._count
            block = range(start, start + self._count)
            if overlaps(block, taken):
                log.info("uids %d-%d overlap the machine's own ids: skipped", start, block[-1])
                continue
            if not _lock_range(ranges, start, self._count, fcntl.F_WRLCK):
                continue
            busy = self._scan(start, start + self._count)
            if busy:
                # Not killed: nothing proves them Nimbus's (a dead Nimbus's survivors were
                # killed with its cgroup tree before this scan).
                log.warning(
                    "uids %d-%d: %d processes run under them (pid %d, ...): block skipped",
                    start,
                    block[-1],
                    len(busy),
                    min(busy),
                )
                _lock_range(ranges, start, self._count, fcntl.F_UNLCK)
                continue
            self._lock = ranges
            self._start = self._next = start
            self._end = start + self._count
            return
        os.close(ranges)
        raise ServiceError("No free block of sandbox uids on this machine.")

    def close(self) -> None:
        """Give the block back (idempotent): closing the descriptor drops its lock."""
        lock, self._lock = self._lock, None
        if lock is not None:
            os.close(lock)

    def acquire(self) -> int:
        """A uid no live environment of this pool has and no process runs under. Raises
        ServiceError when exhausted."""
        if self._free:
            return self._free.pop()
        if self._next < self._end:
            self._next += 1
            return self._next - 1
        if self._unsure:
            # One /proc scan (ms) instead of trusting a uid whose sandbox had no cgroup to
            # prove it empty: only reached once every other uid is taken.
            busy = uid_owners.uids_in_use(self._unsure, self._scan(self._start, self._end))
            for uid in self._unsure:
                if uid not in busy:
                    self._unsure.remove(uid)
                    return uid
        raise ServiceError("No free sandbox uids on this worker host.")

    def release(self, uid: int, *, emptied: bool = True) -> None:
        """Give ``uid`` back. ``emptied``: the sandbox's cgroup was removed, so no process of
        it is left; otherwise the uid is checked against ``/proc`` before it is reused."""
        (self._free if emptied else self._unsure).append(uid)
