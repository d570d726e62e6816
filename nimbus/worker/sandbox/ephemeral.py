"""Disk-backed /tmp: one ext4 filesystem of EphemeralStorage MB per sandbox, prepared ahead.

On AWS, /tmp is ephemeral *storage*, a limit of its own beside MemorySize; a tmpfs /tmp is
RAM charged to the function's memory cgroup, so a 128 MB function could not use its 512 MB
of /tmp. Here each sandbox's /tmp is an ext4 filesystem on a loop device:

- images: an unnamed file (O_TMPFILE) in this host's directory, a sparse copy of a template
  made once per size by mkfs (``ephemeral_policy.mkfs_argv``; 512 MB occupies ~170 KB). It
  has no name, so the kernel frees its blocks when the loop device lets go of it: a crash
  leaves no images behind.
- loop devices: attached with LOOP_CONFIGURE (one ioctl, ~1 ms; ``losetup`` takes ~30 ms
  waiting for udev) with LO_FLAGS_AUTOCLEAR, so the device detaches itself when its
  filesystem goes, and with direct I/O, so the data is not cached twice (once in the
  sandbox's page cache, charged to its cgroup, and again in the host's).
- mounts: the filesystem is created with the new mount API (fsopen/fsconfig/fsmount, Linux
  5.2) as a *detached* mount held by an fd of this process: the expensive part (reading the
  superblock and group descriptors, ~1.3 ms) happens here, off the cold-start path. The
  fd goes to the sandbox with its spawn request (SCM_RIGHTS: a reference of its own, never
  a /proc/<server pid>/fd/<n> path, whose number could name another sandbox's disk by the
  time it is opened), and its PID 1, still root, move_mount()s it onto its /tmp (~0.1 ms,
  ``enter.attach_tmp``). A detached mount is in no mount namespace, so no other sandbox's
  namespace copies it.

A pool holds ``pool_size`` prepared disks of the default size (512 MB, AWS's default);
other sizes are prepared on demand (a thread: template on first use, then copy, attach,
mount). Releasing shuts the filesystem down first (FS_IOC_SHUTDOWN, no flush: its data
dies with the environment, so nothing is written back) and then closes the mount.

Where loop devices, the new mount API or mkfs.ext4 are missing, /tmp stays a tmpfs (sized
to EphemeralStorage, but RAM charged to the function's memory), with one warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import shutil
import struct
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nimbus.errors import TooManyRequestsError
from nimbus.worker.sandbox import ephemeral_policy as policy
from nimbus.worker.sandbox import loop_device
from nimbus.worker.sandbox.detached_mount import MountApi
from nimbus.worker.sandbox.host_lock import HostLock, dead_hosts

log = logging.getLogger(__name__)

DEFAULT_MB = 512  # AWS's default EphemeralStorage
LOOP_CONTROL = "/dev/loop-control"

FS_IOC_SHUTDOWN = 0x8004587D  # _IOR('X', 125, __u32)
EXT4_GOING_FLAGS_NOLOGFLUSH = 2


@dataclass(frozen=True, kw_only=True)
class TmpDisk:
    """A prepared /tmp: a detached mount held by ``mount_fd`` of this process."""

    mount_fd: int
    # The image itself, kept open beside the loop device's reference: its fstat st_blocks
    # is how much of the disk has been written (``policy.DiskLedger``).
    image_fd: int
    size_mb: int
    device: str  # loopN, for logs and tests


class EphemeralDisks:
    """Prepares, pools and releases the /tmp disks of one host's sandboxes."""

    def __init__(
        self,
        *,
        directory: Path,
        host_id: str,
        pool_size: int,
        monotonic: Callable[[], float] = time.monotonic,
        overcommit: float = policy.DISK_OVERCOMMIT,
    ) -> None:
        self._overcommit = overcommit
        self._dir = directory  # <data>/sandboxes/tmp-disks: templates, host locks
        self._own = directory / host_id  # where this host's (unnamed) images live
        self._host_id = host_id
        self._pool_size = pool_size
        self._pool: list[TmpDisk] = []
        # Disks handed out and being made; pooled ones count once taken (each take checks).
        self._ledger = policy.DiskLedger()
        self._monotonic = monotonic
        self._lock: HostLock | None = None
        self._control: int | None = None  # /dev/loop-control
        self._mounts = MountApi()
        self._templates: dict[int, Path] = {}
        self._template_lock = threading.Lock()  # the refill and an on-demand disk may race
        self._refill: asyncio.Task[None] | None = None
        self._releasing: set[asyncio.Task[None]] = set()
        self._closed = False
        self.enabled = False

    async def start(self) -> None:
        """Clean up after dead hosts, then prepare the pool. Never raises: without loop
        devices /tmp falls back to tmpfs (logged once)."""
        self.enabled = await asyncio.to_thread(self._start)
        if self.enabled:
            self._schedule_refill()

    def _start(self) -> bool:
        if not os.path.exists(LOOP_CONTROL) or shutil.which("mkfs.ext4") is None:
            return self._unavailable("no loop devices or no mkfs.ext4")
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            self._lock = HostLock.acquire(self._dir, self._host_id)
            self._clean_dead_hosts()
            self._own.mkdir(exist_ok=True)
            self._control = os.open(LOOP_CONTROL, os.O_RDWR | os.O_CLOEXEC)
            # One disk made now proves loop devices, ext4 and the mount API all work here.
            self._pool.append(self._make(DEFAULT_MB))
        except (OSError, subprocess.SubprocessError) as exc:
            self._close_sync()
            return self._unavailable(str(exc))
        return True

    def _unavailable(self, why: str) -> bool:
        log.warning(
            "disk-backed /tmp unavailable (%s): /tmp is a tmpfs, charged to MemorySize", why
        )
        return False

    # -- the pool --------------------------------------------------------------------------

    async def take(self, size_mb: int) -> TmpDisk | None:
        """A prepared disk of ``size_mb``, or None (tmpfs /tmp) when disks are unavailable
        or this one could not be made (logged). Raises TooManyRequestsError (a throttle,
        as for a host out of memory) when the data directory's filesystem has no room for
        it (``policy.disk_room``)."""
        if not self.enabled:
            return None
        self._check_room(size_mb)
        if size_mb == DEFAULT_MB:
            # Also when the pool is empty: a refill that failed earlier is tried again.
            self._schedule_refill()
            if self._pool:
                disk = self._pool.pop(0)
                self._ledger.add(disk.image_fd, size_mb << 20)
                return disk
        # Counted while it is made, so that concurrent cold starts do not all pass the check.
        self._ledger.reserve(size_mb << 20)
        try:
            made = await self._make_now(size_mb)
        finally:
            self._ledger.unreserve(size_mb << 20)
        if made is not None:
            self._ledger.add(made.image_fd, size_mb << 20)
        return made

    async def _make_now(self, size_mb: int) -> TmpDisk | None:
        making = asyncio.ensure_future(asyncio.to_thread(self._make, size_mb))
        try:
            return await asyncio.shield(making)
        except asyncio.CancelledError:
            # The thread goes on: release what it makes rather than leak its mount.
            making.add_done_callback(self._release_orphan)
            raise
        except (OSError, subprocess.SubprocessError) as exc:
            log.warning("could not make a %d MB /tmp disk (%s): using a tmpfs", size_mb, exc)
            return None

    def _check_room(self, size_mb: int) -> None:
        try:
            stats = os.statvfs(self._own)
        except OSError:
            return  # not knowing is no reason to refuse: making the disk will tell
        free, ledger = stats.f_bavail * stats.f_frsize, self._ledger

        def fits() -> bool:
            return policy.disk_room(
                size_mb,
                free_bytes=free,
                unwritten_bytes=ledger.unwritten,
                overcommit=self._overcommit,
            )

        if fits():
            return
        now = self._monotonic()
        if ledger.stale(now):
            # Only near the limit, at most once a second: fstat of every live image.
            ledger.measured({fd: os.fstat(fd).st_blocks for fd in ledger.images()}, now=now)
            if fits():
                return
        raise TooManyRequestsError(
            "Rate Exceeded. The worker host has no disk space left for the /tmp of a "
            f"new execution environment ({size_mb} MB).",
            Reason="ConcurrentInvocationLimitExceeded",
            retryAfterSeconds=1,
        )

    def _release_orphan(self, making: asyncio.Future[TmpDisk]) -> None:
        if not making.cancelled() and making.exception() is None:
            self.release(making.result())

    def _schedule_refill(self) -> None:
        if self._refill is None or self._refill.done():
            self._refill = asyncio.get_running_loop().create_task(self._fill())

    async def _fill(self) -> None:
        while not self._closed and len(self._pool) < self._pool_size:
            try:
                disk = await asyncio.to_thread(self._make, DEFAULT_MB)
            except Exception as exc:
                # Cold starts do not wait on this task: they make their own disk when the
                # pool is empty, so logging is all there is to do.
                log.warning("could not pre-create a /tmp disk: %r", exc)
                return
            if self._closed:
                self.release(disk)
                return
            self._pool.append(disk)

    def release(self, disk: TmpDisk) -> None:
        """Free ``disk`` in the background: tearing down a filesystem that was written to
        waits for its in-flight I/O (~0.5 s after 400 MB), which no caller should wait for.
        A sandbox still using it holds its own reference (``enter.attach_tmp``)."""
        # Forgotten by the ledger here, on the loop, before the thread closes its image fd:
        # a measurement never fstats a closed (or reused) descriptor.
        self._ledger.remove(disk.image_fd)
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(self._release, disk))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def close(self) -> None:
        self._closed = True
        if self._refill is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._refill
        pool, self._pool = self._pool, []
        for disk in pool:
            self.release(disk)
        while self._releasing:  # bounded: no new releases start once closed
            await asyncio.gather(*self._releasing, return_exceptions=True)
        self._close_sync()

    def _close_sync(self) -> None:
        if self._control is not None:
            os.close(self._control)
            self._control = None
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._own.rmdir()
            self._lock.release()
            self._lock = None

    # -- making and freeing one disk (in a thread) -------------------------------------------

    def _make(self, size_mb: int) -> TmpDisk:
        image = self._image_from(self._template(size_mb))
        try:
            mount_fd, device = self._mount_image(image)
        except BaseException:
            os.close(image)
            raise
        return TmpDisk(mount_fd=mount_fd, image_fd=image, size_mb=size_mb, device=device)

    def _mount_image(self, image: int) -> tuple[int, str]:
        """Attach ``image`` (an fd, left open) to a loop device and mount its ext4,
        detached; returns the mount's fd and the device's name."""
        if self._control is None:
            raise OSError(errno.EBADF, "disks are closed")
        device, held = loop_device.attach(self._control, image)
        try:
            return self._mounts.mount_ext4(f"/dev/{device}"), device
        finally:
            # From now on only the mount holds the device: LO_FLAGS_AUTOCLEAR detaches it
            # when the mount goes (or now, if mounting failed).
            os.close(held)

    def _template(self, size_mb: int) -> Path:
        """The formatted image of ``size_mb`` (made once, kept in the data directory and
        shared by every host using it: it is never written after its rename)."""
        with self._template_lock:
            known = self._templates.get(size_mb)
            if known is not None:
                return known
            templates = self._dir / "templates"
            templates.mkdir(exist_ok=True)
            path = templates / f"ext4-{size_mb}mb.img"
            if not path.exists():
                scratch = templates / f".{path.name}.{uuid.uuid4().hex[:8]}"
                try:
                    self._format(scratch, size_mb)
                    self._prepare_root(scratch)
                    os.rename(scratch, path)
                finally:
                    with contextlib.suppress(FileNotFoundError):
                        scratch.unlink()
            self._templates[size_mb] = path
            return path

    def _format(self, path: Path, size_mb: int) -> None:
        blocks: int | None = policy.target_blocks(size_mb)
        for _ in range(4):  # settles in two (policy.next_blocks)
            assert blocks is not None
            with open(path, "wb") as handle:
                handle.truncate(blocks * policy.BLOCK)
            subprocess.run(
                policy.mkfs_argv(str(path), blocks),
                check=True,
                capture_output=True,
                timeout=60,
            )
            with open(path, "rb") as handle:
                handle.seek(policy.SUPERBLOCK_OFFSET)
                counts = policy.ext4_counts(handle.read(policy.SUPERBLOCK_SIZE))
            if counts is None:
                raise OSError(errno.EINVAL, f"mkfs.ext4 made no ext4 superblock in {path}")
            blocks = policy.next_blocks(size_mb, counts)
            if blocks is None:
                return

    def _prepare_root(self, path: Path) -> None:
        """Make the template's root what AWS's /tmp is: an empty directory anyone may write
        (sticky, as /tmp always is), without mke2fs's lost+found. Done once, on a mount of
        the template itself, so that no disk pays for it."""
        image = os.open(path, os.O_RDWR | os.O_CLOEXEC)
        try:
            mount_fd, _ = self._mount_image(image)
        finally:
            os.close(image)  # the loop device holds the file now
        try:
            root = f"/proc/self/fd/{mount_fd}"
            os.chmod(root, 0o1777)
            with contextlib.suppress(FileNotFoundError):
                os.rmdir(f"{root}/lost+found")
        finally:
            os.close(mount_fd)  # unmounts: the superblock and root inode are written back

    def _image_from(self, template: Path) -> int:
        """An unnamed sparse copy of ``template``: only its data extents are copied."""
        try:
            image = os.open(self._own, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
            # No O_TMPFILE on this filesystem: a named file, unlinked at once.
            named = self._own / f"{uuid.uuid4().hex}.img"
            image = os.open(named, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_CLOEXEC, 0o600)
            named.unlink()
        try:
            source = os.open(template, os.O_RDONLY | os.O_CLOEXEC)
            try:
                size = os.fstat(source).st_size
                os.ftruncate(image, size)
                offset = 0
                for _ in range(1 << 16):  # bounded: a fresh ext4 has a few dozen extents
                    try:
                        start = os.lseek(source, offset, os.SEEK_DATA)
                    except OSError as exc:
                        if exc.errno == errno.ENXIO:  # no data after offset
                            break
                        raise
                    end = os.lseek(source, start, os.SEEK_HOLE)
                    _copy_range(source, image, start, end - start)
                    offset = end
            finally:
                os.close(source)
        except BaseException:
            os.close(image)
            raise
        return image

    def _release(self, disk: TmpDisk) -> None:
        with contextlib.suppress(OSError):
            root = os.open(
                f"/proc/self/fd/{disk.mount_fd}", os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
            )
            try:
                # Nothing on it is worth writing back: its environment is gone.
                fcntl.ioctl(root, FS_IOC_SHUTDOWN, struct.pack("I", EXT4_GOING_FLAGS_NOLOGFLUSH))
            finally:
                os.close(root)
        try:
            os.close(disk.mount_fd)
        finally:
            os.close(disk.image_fd)

    # -- start-up cleanup ----------------------------------------------------------------

    def _clean_dead_hosts(self) -> None:
        """Detach the loop devices of hosts that died (kill -9) and drop their directories.
        AUTOCLEAR already detaches most of them once their sandboxes die; this catches
        devices still attached by anything else."""
        with dead_hosts(self._dir, own=self._host_id) as dead:
            dirs = [str(self._dir / host.host_id) for host in dead]
            for name in policy.stale_loops(loop_device.backing_files(), dirs):
                with contextlib.suppress(OSError):
                    loop_device.detach(name)
                    log.info("detached loop device %s left by a dead host", name)
            for path in dirs:
                shutil.rmtree(path, ignore_errors=True)


def _copy_range(source: int, target: int, offset: int, length: int) -> None:
    done = 0
    while done < length:
        copied = os.copy_file_range(source, target, length - done, offset + done, offset + done)
        if copied == 0:
            raise OSError(errno.EIO, "short copy of a /tmp template")
        done += copied
