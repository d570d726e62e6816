"""Pure decisions for disk-backed /tmp (``sandbox.ephemeral``): the loop-device ioctl
argument, the ext4 geometry that gives a function exactly its EphemeralStorage, and which
loop devices a dead server left behind.

AWS gives each execution environment a /tmp of EphemeralStorage MB (512 by default, up to
10,240) that is separate from MemorySize. Here it is an ext4 filesystem in a sparse image
file, attached to a loop device.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

BLOCK = 4096  # ext4 block size we format with, and the loop device's logical block size

# <linux/loop.h>
LOOP_CTL_GET_FREE = 0x4C82
LOOP_CONFIGURE = 0x4C0A  # Linux 5.8: attach + set status in one ioctl, no udev round trip
LOOP_CLR_FD = 0x4C01
LO_FLAGS_AUTOCLEAR = 4
LO_FLAGS_DIRECT_IO = 16
# struct loop_info64: 5 x u64, 4 x u32, file name [64], crypt name [64], key [32], 2 x u64
_LOOP_INFO64 = struct.Struct("=QQQQQIIII64s64s32sQQ")
# struct loop_config: u32 fd, u32 block_size, loop_info64 info, u64 reserved[8]
_LOOP_CONFIG = struct.Struct(f"=II{_LOOP_INFO64.size}s64s")

# ext4 superblock (at byte 1024 of the filesystem): s_blocks_count_lo at 0x4,
# s_free_blocks_count_lo at 0xC, s_magic at 0x38. Our sizes (<= 10 GiB in 4 KiB blocks)
# never need the _hi halves.
SUPERBLOCK_OFFSET = 1024
SUPERBLOCK_SIZE = 1024
EXT4_MAGIC = 0xEF53

# Free space a new disk must leave on the data directory's filesystem (disk_room): the
# database and code blobs live there too, and must never be the ones that run out.
DISK_RESERVE_MB = 1024
# /tmp is promised, not set aside, as memory is (the placement budget books 4x RAM): most
# functions write little of their 512 MB. Counting every live disk's unwritten part in full
# capped a host at free disk / 512 MB environments (~150 here, where 200 concurrent cold
# starts are a benchmark); counting an eighth of it keeps the reserve for what is likely
# while a single function can still fill its own /tmp. 1 gives a strict guarantee.
DISK_OVERCOMMIT = 8.0


def loop_config(backing_fd: int, *, flags: int, name: str = "") -> bytes:
    """The LOOP_CONFIGURE argument attaching ``backing_fd`` with ``flags``."""
    info = _LOOP_INFO64.pack(0, 0, 0, 0, 0, 0, 0, 0, flags, name.encode()[:63], b"", b"", 0, 0)
    return _LOOP_CONFIG.pack(backing_fd, BLOCK, info, b"")


@dataclass(frozen=True, kw_only=True)
class Ext4Counts:
    blocks: int
    free_blocks: int


def ext4_counts(superblock: bytes) -> Ext4Counts | None:
    """Block counts from an ext4 superblock, or None if these bytes are not one."""
    if len(superblock) < 0x3A:
        return None
    (magic,) = struct.unpack_from("<H", superblock, 0x38)
    if magic != EXT4_MAGIC:
        return None
    blocks, free = struct.unpack_from("<I4xI", superblock, 0x4)
    return Ext4Counts(blocks=blocks, free_blocks=free)


def target_blocks(size_mb: int) -> int:
    return size_mb * (1024 * 1024 // BLOCK)


def next_blocks(size_mb: int, made: Ext4Counts) -> int | None:
    """How many blocks to format next so that the free space (what ``df`` reports as the
    size, after ext4's own metadata) is ``size_mb``, or None when ``made`` already is.

    ext4's metadata (inode tables, bitmaps: ~1.7% at 512 MB) grows with the filesystem, so
    each try adds the shortfall of the last; two tries settle it."""
    shortfall = target_blocks(size_mb) - made.free_blocks
    if shortfall <= 0:
        return None
    return made.blocks + shortfall


def mkfs_argv(path: str, blocks: int) -> list[str]:
    """mke2fs for a scratch ext4: no journal (the filesystem dies with its environment,
    so there is nothing to recover), no reserved blocks (no root-only space), no resize
    inode (never grown), inode tables left for the kernel to treat as zero (the image is
    sparse, so they read as zeros anyway: mount with ``noinit_itable``)."""
    return [
        "mkfs.ext4",
        "-q",
        "-F",
        "-b",
        str(BLOCK),
        "-T",
        "default",
        "-m",
        "0",
        "-O",
        "^has_journal,^resize_inode",
        "-E",
        "lazy_itable_init=1,nodiscard,root_owner=0:0",
        path,
        str(blocks),
    ]


def stale_loops(backing: Mapping[str, str], dead_dirs: Sequence[str]) -> list[str]:
    """The loop devices (by name) whose backing file lies in a directory of a dead host.

    ``backing`` maps a device name to /sys/block/<name>/loop/backing_file, which names the
    file as opened, with " (deleted)" appended once it is unlinked (our images always are)."""
    prefixes = tuple(d.rstrip("/") + "/" for d in dead_dirs)
    if not prefixes:
        return []
    return sorted(name for name, path in backing.items() if path.startswith(prefixes))


def disk_room(
    size_mb: int,
    *,
    free_bytes: int,
    unwritten_bytes: int,
    reserve_mb: int = DISK_RESERVE_MB,
    overcommit: float = DISK_OVERCOMMIT,
) -> bool:
    """Whether a new /tmp of ``size_mb`` fits on a filesystem with ``free_bytes`` free
    (statvfs f_bavail) and leaves ``reserve_mb`` over. Images are sparse, so they take
    space only as the function writes: the live disks may still take ``unwritten_bytes``
    (``DiskLedger.unwritten``) of what is free now, of which ``1/overcommit`` is counted
    (``DISK_OVERCOMMIT``). This refuses a cold start whose /tmp, filled, would eat into the
    reserve with that share of every other /tmp filled too, rather than let /tmp fill the
    disk under the database."""
    counted = unwritten_bytes / max(overcommit, 1.0)
    return free_bytes - counted >= (size_mb + reserve_mb) * 1024 * 1024


class DiskLedger:
    """What the live /tmp disks may still take from the data directory's filesystem: the
    unwritten part of each (its size minus the blocks its image has), and the sizes of disks
    being made. No I/O: the shell reports what it measures.

    Measuring is fstat of every live image (~2 ms per thousand here), so it is not done per
    cold start: the total is kept as disks come and go, from each one's last measurement
    (0 for a new disk), and re-measured only when a check fails on it, at most once per
    ``MEASURE_INTERVAL_S``. An image only grows while it lives (no discard reaches it), so
    an old measurement overstates what is unwritten: the check errs towards refusing."""

    MEASURE_INTERVAL_S = 1.0

    def __init__(self) -> None:
        self._sizes: dict[int, int] = {}  # image key (its fd) -> size in bytes
        self._allocated: dict[int, int] = {}  # image key -> bytes it had when last measured
        self._unwritten = 0  # sum of size - allocated, plus pending
        self.measured_at: float | None = None

    @property
    def unwritten(self) -> int:
        return self._unwritten

    def images(self) -> list[int]:
        """The keys of the disks in use, to measure."""
        return list(self._sizes)

    def reserve(self, size_bytes: int) -> None:
        """A disk of ``size_bytes`` is being made (``unreserve`` when that ends)."""
        self._unwritten += size_bytes

    def unreserve(self, size_bytes: int) -> None:
        self._unwritten -= size_bytes

    def add(self, key: int, size_bytes: int) -> None:
        """A disk now in use, not yet measured: all of it may still be written."""
        self.remove(key)
        self._sizes[key] = size_bytes
        self._allocated[key] = 0
        self._unwritten += size_bytes

    def remove(self, key: int) -> None:
        """A disk released (or never added: nothing happens)."""
        size = self._sizes.pop(key, None)
        if size is not None:
            self._unwritten -= size - self._allocated.pop(key)

    def stale(self, now: float) -> bool:
        """Whether a failed check may measure again (``now``: a monotonic clock)."""
        return self.measured_at is None or now - self.measured_at >= self.MEASURE_INTERVAL_S

    def measured(self, st_blocks: Mapping[int, int], *, now: float) -> None:
        """Record each image's fstat st_blocks (512-byte units, whatever the filesystem's
        block size); a file system's own metadata can put it past the image's size."""
        for key, blocks in st_blocks.items():
            size = self._sizes.get(key)
            if size is not None:
                allocated = min(blocks * 512, size)
                self._unwritten -= allocated - self._allocated[key]
                self._allocated[key] = allocated
        self.measured_at = now
