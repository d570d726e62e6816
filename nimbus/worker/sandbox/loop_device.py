"""Loop devices through their ioctls (<linux/loop.h>): attach a file, detach, list.

LOOP_CONFIGURE (Linux 5.8) attaches and sets the flags in one ioctl, ~1 ms; ``losetup``
takes ~30 ms, most of it waiting for udev to settle. The argument's layout is
``ephemeral_policy.loop_config`` (pure).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path

from nimbus.worker.sandbox import ephemeral_policy as policy

SYS_BLOCK = Path("/sys/block")


def attach(control: int, image: int) -> tuple[str, int]:
    """Attach the file ``image`` to a free loop device (``control``: /dev/loop-control),
    detaching itself on last close (AUTOCLEAR), with direct I/O where the backing
    filesystem has it. Returns the device's name (loopN) and an open fd of it."""
    flags = policy.LO_FLAGS_AUTOCLEAR | policy.LO_FLAGS_DIRECT_IO
    for _ in range(16):  # another process may take the free device first: EBUSY
        number = fcntl.ioctl(control, policy.LOOP_CTL_GET_FREE)
        device = f"loop{number}"
        fd = os.open(f"/dev/{device}", os.O_RDWR | os.O_CLOEXEC)
        try:
            fcntl.ioctl(fd, policy.LOOP_CONFIGURE, policy.loop_config(image, flags=flags))
            return device, fd
        except OSError as exc:
            os.close(fd)
            if exc.errno == errno.EBUSY:
                continue
            if exc.errno == errno.EINVAL and flags & policy.LO_FLAGS_DIRECT_IO:
                flags &= ~policy.LO_FLAGS_DIRECT_IO  # a backing filesystem without O_DIRECT
                continue
            raise
    raise OSError(errno.EBUSY, "no free loop device")


def detach(device: str) -> None:
    """LOOP_CLR_FD; on a device still in use (mounted) the kernel only sets AUTOCLEAR, so
    it detaches when that use ends."""
    fd = os.open(f"/dev/{device}", os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, policy.LOOP_CLR_FD)
    finally:
        os.close(fd)


def backing_files() -> dict[str, str]:
    """Each attached loop device's backing file, as /sys/block/loopN/loop/backing_file."""
    found: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for entry in os.scandir(SYS_BLOCK):
            if entry.name.startswith("loop"):
                with contextlib.suppress(OSError):
                    found[entry.name] = (
                        (SYS_BLOCK / entry.name / "loop" / "backing_file").read_text().strip()
                    )
    return found
