"""The code volume: one ext4 filesystem per worker host holding everything sandboxes bind
from the host besides the OS and the interpreters: extracted code (/var/task), merged layers
(/opt), the runtime clients (/var/runtime) and the bundled boto3.

Why a filesystem of its own: /proc/self/mountinfo names a bind mount's source by its path
from the root of the filesystem it comes from (field 4). Bound from the data directory, a
sandbox read ``/srv/nimbus/data/code/extracted/<sha>`` there, ``/home/me/nimbus/nimbus`` and
``/home/me/nimbus/.venv/lib/python3.11/site-packages``: the host's layout, where its data and
its checkout live, and, through that site-packages, every library of the server. Bound from
this volume it reads ``/code/<sha>``, ``/runtime/nimbus`` and ``/runtime/boto``, and a
function sees only what Lambda's Python runtimes bundle: boto3, botocore, s3transfer and
their dependencies (``BOTO_PACKAGES``), no server dependency.

- image: an unnamed (O_TMPFILE) sparse file in the data directory, so a host's volume is
  freed with its last mount, however the host ends. Its size is AWS's default code storage
  quota (75 GB) or the free space of the data directory's filesystem, if less; formatted at
  each start without a journal (its content is rebuilt from the blobs after any crash;
  ~30 ms) and mounted with ``discard``, so deleted extractions give their blocks back.
- mount: in the host's mount namespace, at ``/run/nimbus/code-volumes/<host id>`` (root's
  0700 directory beside the hosts' lock files; never inside the data directory, where a
  recursive delete of a data directory — a test's temporary one — would walk into it).
  Zygotes and sandboxes reach it by path: binding from a detached mount (as
  ``sandbox.ephemeral`` hands out /tmp) into another mount namespace is refused by older
  kernels. The host unmounts it when it closes; a host killed with -9 leaves it mounted
  until the next host to start on this machine unmounts it (``host_lock.dead_hosts``: the
  lock files live beside the mounts), which frees the image. ``/run`` is a tmpfs: a reboot
  leaves nothing.

Without root, loop devices or mkfs.ext4, there is no volume (``open`` returns None) and
sandboxes bind from the data directory as before, with one warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import errno
import importlib.util
import logging
import os
import shutil
import subprocess
import uuid
from pathlib import Path

from nimbus.worker.sandbox import loop_device
from nimbus.worker.sandbox.detached_mount import MountApi
from nimbus.worker.sandbox.host_lock import HostLock, dead_hosts

log = logging.getLogger(__name__)

LOOP_CONTROL = "/dev/loop-control"
MOUNT_DIR = Path("/run/nimbus/code-volumes")
CODE_STORAGE_QUOTA = 75 * 1000**3  # AWS's default "Code storage" quota per Region
MIN_VOLUME = 256 << 20  # less room than this on the data directory: no volume
BLOCK = 4096
MNT_DETACH = 2
# What Lambda's Python runtimes put on sys.path after the function's own packages: boto3 and
# what it imports, nothing else of the server's site-packages.
BOTO_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")


def volume_bytes(free_bytes: int) -> int | None:
    """The image's size for this much free space on the data directory's filesystem (pure):
    the code storage quota, or nine tenths of the free space if less (the image is sparse,
    but what is written to it must fit), in whole blocks; None when too little is free."""
    size = min(CODE_STORAGE_QUOTA, free_bytes * 9 // 10) // BLOCK * BLOCK
    return size if size >= MIN_VOLUME else None


def mkfs_argv(device: str) -> list[str]:
    """No journal: nothing on the volume outlives the host. No reserved blocks (only root
    writes here). Inode tables are left uninitialised (the mount's noinit_itable keeps the
    kernel from zeroing gigabytes of them in the background): ext4's checksums say which
    are in use."""
    return [
        "mkfs.ext4",
        "-q",
        "-F",
        "-O",
        "^has_journal",
        "-m",
        "0",
        "-E",
        "lazy_itable_init=1,nodiscard",
        "-L",
        "nimbus-code",
        device,
    ]


def find_boto() -> Path | None:
    """The site-packages holding boto3, put at the end of functions' sys.path as Lambda's
    Python runtimes include it."""
    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec("boto3")
        if spec is not None and spec.origin:
            return Path(spec.origin).resolve().parents[1]
    return None


class CodeVolume:
    """This host's mounted code volume (``open``); its directories are host paths."""

    def __init__(self, *, root: Path, lock: HostLock, has_boto: bool) -> None:
        self.root = root
        self._lock: HostLock | None = lock
        self._has_boto = has_boto

    @property
    def code_dir(self) -> Path:
        """Where blobs are extracted (``store.blobs``)."""
        return self.root / "code"

    @property
    def layers_dir(self) -> Path:
        """Where several layers are merged into one /opt (``sandbox.layers``)."""
        return self.root / "layers"

    @property
    def runtime_package(self) -> Path:
        """A copy of the ``nimbus`` package: the runtime clients, at /var/runtime/nimbus."""
        return self.root / "runtime" / "nimbus"

    @property
    def boto_dir(self) -> Path | None:
        """A copy of ``BOTO_PACKAGES`` (None when the server has no boto3)."""
        return self.root / "runtime" / "boto" if self._has_boto else None

    @property
    def network_dir(self) -> Path:
        """Files bound over the sandbox's /etc (``sandbox.network``'s resolv.conf)."""
        return self.root / "network"

    @classmethod
    async def open(
        cls,
        image_dir: Path,
        *,
        runtime_package: Path,
        boto_source: Path | None,
        mount_dir: Path = MOUNT_DIR,
    ) -> CodeVolume | None:
        """Make (its image in ``image_dir``), mount (under ``mount_dir``) and fill this
        host's volume, unmounting dead hosts' first. Never raises: None (logged once) where
        it cannot be made."""
        return await asyncio.to_thread(
            cls._open, image_dir, mount_dir, runtime_package, boto_source
        )

    @classmethod
    def _open(
        cls, image_dir: Path, mount_dir: Path, runtime_package: Path, boto_source: Path | None
    ) -> CodeVolume | None:
        if os.geteuid() != 0 or not os.path.exists(LOOP_CONTROL):
            _unavailable("not root, or no loop devices")
            return None
        if shutil.which("mkfs.ext4") is None:
            _unavailable("no mkfs.ext4")
            return None
        host_id = uuid.uuid4().hex[:8]
        lock: HostLock | None = None
        mnt = mount_dir / host_id
        mounted = False
        try:
            image_dir.mkdir(parents=True, exist_ok=True)
            lock = HostLock.acquire(mount_dir, host_id)
            _clean_dead_hosts(mount_dir, own=host_id)
            size = volume_bytes(_free_bytes(image_dir))
            if size is None:
                raise OSError(errno.ENOSPC, f"less than {MIN_VOLUME >> 20} MB free")
            mnt.mkdir(mode=0o700)
            _mount_new(image_dir, mnt, size)
            mounted = True
            volume = cls(root=mnt, lock=lock, has_boto=boto_source is not None)
            _fill(volume, runtime_package, boto_source)
        except (OSError, subprocess.SubprocessError, shutil.Error) as exc:
            if mounted:
                _unmount(mnt)
            if lock is not None:
                _remove_mount_point(mnt)
                lock.release()
            _unavailable(str(exc))
            return None
        log.info("code volume of %d GB mounted at %s", size // 1000**3, mnt)
        return volume

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        if self._lock is None:
            return
        _unmount(self.root)
        _remove_mount_point(self.root)
        self._lock.release()
        self._lock = None


def _unavailable(why: str) -> None:
    log.warning(
        "no code volume (%s): sandboxes bind code, layers and the runtime from the data "
        "directory and the checkout, whose host paths their /proc/self/mountinfo shows",
        why,
    )


def _free_bytes(directory: Path) -> int:
    stats = os.statvfs(directory)
    return stats.f_bavail * stats.f_frsize


def _mount_new(image_dir: Path, target: Path, size: int) -> None:
    """An unnamed image of ``size`` bytes in ``image_dir``, formatted and mounted at
    ``target``."""
    image = _unnamed_file(image_dir)
    try:
        os.ftruncate(image, size)
        control = os.open(LOOP_CONTROL, os.O_RDWR | os.O_CLOEXEC)
        try:
            device, held = loop_device.attach(control, image)
        finally:
            os.close(control)
    finally:
        os.close(image)  # the loop device holds the file now
    try:
        subprocess.run(mkfs_argv(f"/dev/{device}"), check=True, capture_output=True, timeout=60)
        api = MountApi()
        mount_fd = api.mount_ext4(f"/dev/{device}", discard=True)
        try:
            api.move_mount(mount_fd, str(target))
        finally:
            os.close(mount_fd)
    finally:
        # From now on only the mount holds the device (AUTOCLEAR detaches it with the last
        # mount, or now if mounting failed).
        os.close(held)


def _unnamed_file(directory: Path) -> int:
    try:
        return os.open(directory, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            raise
    # No O_TMPFILE on this filesystem: a named file, unlinked at once.
    named = directory / f".code-volume-{uuid.uuid4().hex}.img"
    fd = os.open(named, os.O_CREAT | os.O_EXCL | os.O_RDWR | os.O_CLOEXEC, 0o600)
    named.unlink()
    return fd


def _fill(volume: CodeVolume, runtime_package: Path, boto_source: Path | None) -> None:
    """The fixed part: copies of the runtime clients and of boto3 (with their .pyc files
    and modification times, which the .pyc files are checked against: a sandbox cannot
    write a fresh one into this read-only tree). ~0.2 s."""
    for directory in (volume.code_dir, volume.layers_dir, volume.network_dir):
        directory.mkdir(mode=0o755)
        directory.chmod(0o755)  # whatever the umask
    volume.root.chmod(0o755)
    shutil.copytree(runtime_package, volume.runtime_package, symlinks=True)
    boto_dir = volume.boto_dir
    if boto_source is None or boto_dir is None:
        return
    boto_dir.mkdir(parents=True)
    for name in BOTO_PACKAGES:
        source = boto_source / name
        if source.is_dir():
            shutil.copytree(source, boto_dir / name, symlinks=True)
        elif source.is_file():
            shutil.copy2(source, boto_dir / name)
    for directory in (volume.root / "runtime", boto_dir):
        directory.chmod(0o755)


def _unmount(target: Path) -> None:
    """Detach the mount at ``target`` from this namespace (MNT_DETACH: a sandbox still
    using it keeps its own copy of the mount until it ends)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.umount2(str(target).encode(), MNT_DETACH) != 0:
        code = ctypes.get_errno()
        if code not in (errno.EINVAL, errno.ENOENT):  # not mounted (any more)
            log.warning("could not unmount the code volume at %s: %s", target, os.strerror(code))


def _remove_mount_point(path: Path) -> None:
    """rmdir, never a recursive delete, which would walk into a volume still mounted there."""
    with contextlib.suppress(OSError):
        path.rmdir()


def _clean_dead_hosts(mount_dir: Path, *, own: str) -> None:
    with dead_hosts(mount_dir, own=own) as dead:
        for host in dead:
            _unmount(mount_dir / host.host_id)
            _remove_mount_point(mount_dir / host.host_id)
            log.info("unmounted the code volume of dead host %s", host.host_id)
