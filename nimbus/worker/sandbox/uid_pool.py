"""Unprivileged uids for sandboxes, one per live environment, reused once it is gone.

A uid is reused only when no process runs under it any more (``sandbox.uid_owners``): the
Runtime API trusts a uid to mean one environment, so a survivor still running under a reused
uid would receive the new environment's events.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
from collections.abc import Callable
from pathlib import Path

from nimbus.errors import ServiceError
from nimbus.worker.sandbox import uid_owners

log = logging.getLogger(__name__)

Scan = Callable[[int, int], dict[int, uid_owners.ProcUids]]
RANGES = "uid-ranges"  # one byte per uid, locked by range (open file description locks)
# struct flock for F_OFD_SETLK: l_type, l_whence, l_start, l_len, l_pid (0), padding.
_FLOCK = "hhqqi4x"


def _lock_range(fd: int, start: int, length: int, kind: int) -> bool:
    """Lock (F_WRLCK) or unlock (F_UNLCK) bytes [start, start+length) of ``fd`` without
    waiting. OFD locks belong to the open file, not the process: two pools in one process
    conflict too, and each is dropped when its descriptor closes (or its holder dies)."""
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack(_FLOCK, kind, os.SEEK_SET, start, length, 0))
    except OSError:
        return False
    return True


def _flock(path: Path) -> int | None:
    fd = os.open(path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


class UidPool:
    """Hands out uids from ``[base, base + count)``, or from the block ``claim_block`` took.

    Several hosts may share a machine (tests, a second node): each claims its own block of
    uids with an flock held for its lifetime. The flock dies with its holder, so after a
    ``kill -9`` the next host takes the same block; it first kills whatever still runs under
    the block's uids (leftovers of the dead holder) and skips the block if any survives."""

    def __init__(
        self, base: int, count: int, *, scan: Scan = uid_owners.owners, evict_wait_s: float = 2.0
    ) -> None:
        self._base = base
        self._count = count
        self._start = base  # the block in use
        self._next = base
        self._end = base + count
        self._free: list[int] = []  # released with their sandbox emptied (its cgroup removed)
        self._unsure: list[int] = []  # released with no cgroup to prove they are unused
        self._locks: tuple[int, ...] = ()  # held while the block is ours
        self._scan = scan
        self._evict_wait_s = evict_wait_s

    def claim_block(self, lock_dir: Path, blocks: int = 64) -> None:
        """Take the first of ``blocks`` blocks of ``count`` uids no other live pool holds and
        no process runs under. Raises ServiceError when every block is taken.

        A block is held by an OFD lock on its uids as a byte range of one file, so pools
        with other bases or sizes (a test host at 160,000) conflict wherever their uids
        overlap; killing "leftovers" in a block another live pool uses would kill its
        sandboxes. The flock of Nimbus before range locks is taken too, so a server of that
        version sharing the machine is never taken for dead."""
        lock_dir.mkdir(parents=True, exist_ok=True)
        ranges = os.open(lock_dir / RANGES, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600)
        for index in range(blocks):
            start = self._base + index * self._count
            legacy = _flock(lock_dir / f"block-{self._base}-{index}")
            if legacy is None or not _lock_range(ranges, start, self._count, fcntl.F_WRLCK):
                if legacy is not None:
                    os.close(legacy)
                continue
            if not uid_owners.evict(
                start, start + self._count, wait_s=self._evict_wait_s, scan=self._scan
            ):
                log.warning(
                    "uids %d-%d still run processes that will not die: skipped",
                    start,
                    start + self._count - 1,
                )
                _lock_range(ranges, start, self._count, fcntl.F_UNLCK)
                os.close(legacy)
                continue
            self._locks = (ranges, legacy)
            self._start = self._next = start
            self._end = start + self._count
            return
        os.close(ranges)
        raise ServiceError("No free block of sandbox uids on this machine.")

    def close(self) -> None:
        """Give the block back (idempotent): closing the descriptors drops their locks."""
        locks, self._locks = self._locks, ()
        for fd in locks:
            os.close(fd)

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
