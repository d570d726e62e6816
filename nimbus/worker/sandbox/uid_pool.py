"""Unprivileged uids for sandboxes, one per live environment, reused once it is gone."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from nimbus.errors import ServiceError


class UidPool:
    """Hands out uids from ``[base, base + count)``, or from the block ``claim_block`` took.

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
        """Take the first of ``blocks`` blocks of ``count`` uids no other live pool holds.
        Raises ServiceError when every block is taken."""
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
        """Give the block back (idempotent)."""
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def acquire(self) -> int:
        """A uid no live environment of this pool has. Raises ServiceError when exhausted."""
        if self._free:
            return self._free.pop()
        if self._next >= self._end:
            raise ServiceError("No free sandbox uids on this worker host.")
        self._next += 1
        return self._next - 1

    def release(self, uid: int) -> None:
        self._free.append(uid)
