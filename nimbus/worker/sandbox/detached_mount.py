"""Detached ext4 mounts with the new mount API (fsopen/fsconfig/fsmount, Linux 5.2), which
Python's os module does not wrap: the mount is held by a file descriptor and attached to no
mount namespace until its holder move_mount()s it (``sandbox.ephemeral``'s /tmp disks, the
``sandbox.code_volume``).
"""

from __future__ import annotations

import ctypes
import os

# The mount API's syscall numbers are the same on every architecture (asm-generic table).
SYS_MOVE_MOUNT, SYS_FSOPEN, SYS_FSCONFIG, SYS_FSMOUNT = 429, 430, 431, 432
MOVE_MOUNT_F_EMPTY_PATH = 4
AT_FDCWD = -100
FSOPEN_CLOEXEC = FSMOUNT_CLOEXEC = 1
FSCONFIG_SET_FLAG, FSCONFIG_SET_STRING, FSCONFIG_CMD_CREATE = 0, 1, 6
MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x2, 0x4


class MountApi:
    """The three syscalls, through libc's syscall(2) (glibc has no wrappers before 2.36)."""

    def __init__(self) -> None:
        self._syscall = ctypes.CDLL(None, use_errno=True).syscall
        self._syscall.restype = ctypes.c_long

    def _call(self, what: str, *args: object) -> int:
        result = int(self._syscall(*args))
        if result < 0:
            code = ctypes.get_errno()
            raise OSError(code, f"{what}: {os.strerror(code)}")
        return result

    def mount_ext4(self, device: str, *, discard: bool = False) -> int:
        """A detached nosuid,nodev mount of the ext4 on ``device``; returns its fd.
        ``discard``: freed blocks are discarded (on a loop device, punched out of its
        sparse image)."""
        fs = self._call("fsopen", SYS_FSOPEN, b"ext4", FSOPEN_CLOEXEC)
        try:
            self._call(
                "fsconfig", SYS_FSCONFIG, fs, FSCONFIG_SET_STRING, b"source", device.encode(), 0
            )
            self._call("fsconfig", SYS_FSCONFIG, fs, FSCONFIG_SET_FLAG, b"noinit_itable", None, 0)
            if discard:
                self._call("fsconfig", SYS_FSCONFIG, fs, FSCONFIG_SET_FLAG, b"discard", None, 0)
            self._call("fsconfig", SYS_FSCONFIG, fs, FSCONFIG_CMD_CREATE, None, None, 0)
            return self._call(
                "fsmount", SYS_FSMOUNT, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV
            )
        finally:
            os.close(fs)

    def move_mount(self, mount_fd: int, target: str) -> None:
        """Attach the detached mount ``mount_fd`` holds at ``target``, in this process's
        mount namespace."""
        self._call(
            "move_mount",
            SYS_MOVE_MOUNT,
            mount_fd,
            b"",
            ctypes.c_long(AT_FDCWD),
            target.encode(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
