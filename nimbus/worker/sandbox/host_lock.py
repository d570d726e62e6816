"""Whether the host that made a cgroup tree still runs: an flock'ed file per host id.

Each worker host holds ``<lock dir>/<host id>.lock`` (flock, exclusive) for its lifetime and
writes into it the cgroup parent directories it makes. The kernel drops an flock when its
holder dies, however it dies (``kill -9`` included), so a lock file nobody holds names the
trees of a dead host — a test of liveness that a recycled pid cannot fool. The file is
locked before it appears under its name (made as a temporary file, locked, then renamed),
so no one ever sees a live host's file unlocked. ``/run`` is a tmpfs: it goes with a
reboot, as the cgroups do.

Every lock directory of Nimbus is private (``private_dir``): root-owned, mode 0700, under
``/run/nimbus`` rather than the world-writable ``/run/lock``, where any local user could
pre-create it (and lock every file in it, or plant symlinks for root to follow). Lock files
are opened with O_NOFOLLOW, and host ids read back from file names are checked before they
name a path.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import stat
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

LOCK_DIR = Path("/run/nimbus/hosts")
SUFFIX = ".lock"
HOST_ID = re.compile(r"[0-9a-f]{8,32}")


class UnsafeLockDir(OSError):
    """A lock directory someone else could write to: refusing it beats trusting it."""


def unsafe_reason(mode: int, uid: int, *, euid: int, leaf: bool) -> str | None:
    """Why a directory with this ``lstat`` mode and owner cannot hold our locks (pure), or
    None. The lock directory itself must be a real directory of ours that nobody else can
    write; its parent must be ours or root's, and writable by others only when sticky (they
    then cannot rename or remove our directory)."""
    if not stat.S_ISDIR(mode):
        return "not a directory (a symlink?)"
    if uid != euid and (leaf or uid != 0):
        return f"owned by uid {uid}, not {euid}"
    if mode & 0o022 and (leaf or not mode & stat.S_ISVTX):
        return f"writable by others (mode {stat.S_IMODE(mode):o})"
    return None


def private_dir(path: Path) -> Path:
    """``path``, made (mode 0700, parents too) if missing, after checking that nobody but
    this user can write it or its parent. Raises UnsafeLockDir, naming the problem."""
    os.makedirs(path.parent, mode=0o700, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    euid = os.geteuid()
    # The parent is checked where it really is (a data directory may be a symlink to
    # another disk); the lock directory itself must be no symlink: lstat, unresolved.
    parent = Path(os.path.realpath(path.parent))
    for where, leaf in ((path, True), (parent, False)):
        info = os.lstat(where)
        reason = unsafe_reason(info.st_mode, info.st_uid, euid=euid, leaf=leaf)
        if reason is not None:
            raise UnsafeLockDir(f"refusing lock directory {path}: {where} is {reason}")
    return path


def valid_host_id(host_id: str) -> bool:
    """Whether a host id read back from a file name is one a host makes (pure): it names
    directories that get removed, so nothing else (``..``, a slash) may pass."""
    return HOST_ID.fullmatch(host_id) is not None


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def parse_paths(text: str) -> tuple[Path, ...]:
    """The cgroup directories a lock file names, one absolute path a line (pure); anything
    else (a torn write, a relative path) is ignored rather than trusted."""
    return tuple(Path(line) for line in text.splitlines() if line.startswith("/sys/fs/cgroup/"))


class HostLock:
    """This host's lock file, held until ``release``."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, lock_dir: Path, host_id: str) -> HostLock:
        """Create and lock ``<host id>.lock``. Raises OSError when it cannot be made
        (UnsafeLockDir when ``lock_dir`` is not private)."""
        private_dir(lock_dir)
        final = lock_dir / f"{host_id}{SUFFIX}"
        temporary = lock_dir / f".{host_id}.{uuid.uuid4().hex[:8]}.tmp"
        fd = os.open(
            temporary, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # a fresh file: nobody else can hold it
            os.rename(temporary, final)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise
        return cls(fd, final)

    def record(self, paths: Iterable[Path]) -> None:
        """Name the cgroup directories this host makes, before it makes them, so a
        successor can remove them if this host dies."""
        if self._fd is None:
            return
        data = "".join(f"{p}\n" for p in paths).encode()
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)

    def release(self, *, keep: bool = False) -> None:
        """Unlock (idempotent). ``keep``: leave the file, so the next host to start removes
        the directories it names (this host could not)."""
        if self._fd is None:
            return
        if not keep:
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(self._fd)
        self._fd = None


@dataclass(frozen=True, kw_only=True)
class DeadHost:
    host_id: str
    paths: tuple[Path, ...]  # the cgroup directories it recorded


def host_alive(lock_dir: Path, host_id: str) -> bool | None:
    """True while a host holds its lock file, False once it died, None when it has no lock
    file (it never made one, or its successor already cleaned up after it)."""
    try:
        fd = os.open(lock_dir / f"{host_id}{SUFFIX}", os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    try:
        return not _try_lock(fd)
    finally:
        os.close(fd)  # closing drops the probe's lock, if it got one


@contextlib.contextmanager
def dead_hosts(lock_dir: Path, *, own: str) -> Iterator[list[DeadHost]]:
    """The hosts whose lock file nobody holds, locked by us while the caller cleans up
    after them; their files are removed afterwards. Two hosts starting at once never clean
    up after the same dead host together: the second finds the file locked or gone."""
    held: list[tuple[int, Path]] = []
    dead: list[DeadHost] = []
    try:
        names = sorted(os.listdir(lock_dir))
    except FileNotFoundError:
        names = []
    try:
        for name in names:
            host_id = name[: -len(SUFFIX)]
            if not name.endswith(SUFFIX) or host_id == own or not valid_host_id(host_id):
                continue
            path = lock_dir / name
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
            except OSError:
                continue
            if not _try_lock(fd) or os.fstat(fd).st_nlink == 0:
                os.close(fd)  # alive, or cleaned up by another host just now
                continue
            held.append((fd, path))
            text = os.pread(fd, 1 << 16, 0).decode(errors="replace")
            dead.append(DeadHost(host_id=host_id, paths=parse_paths(text)))
        yield dead
    finally:
        for fd, path in held:
            with contextlib.suppress(OSError):
                path.unlink()
            os.close(fd)
