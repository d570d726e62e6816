"""EphemeralDisks against the real kernel: loop devices, ext4 and the mount API (root)."""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import logging
import os
import time
from pathlib import Path

import pytest

from nimbus.errors import TooManyRequestsError
from nimbus.worker.sandbox import detached_mount, ephemeral
from nimbus.worker.sandbox import ephemeral_policy as policy
from nimbus.worker.sandbox.ephemeral import EphemeralDisks
from nimbus.worker.sandbox.host_lock import HostLock

needs_loop = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/loop-control"),
    reason="loop devices need root",
)


def _backing(device: str) -> str | None:
    try:
        return Path(f"/sys/block/{device}/loop/backing_file").read_text().strip()
    except OSError:
        return None


async def _until_detached(device: str, was: str, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _backing(device) != was:
            return True
        await asyncio.sleep(0.02)
    return False


@needs_loop
async def test_a_pooled_disk_is_an_empty_sticky_ext4_of_512_mb_freed_on_release(
    tmp_path: Path,
) -> None:
    disks = EphemeralDisks(directory=tmp_path / "disks", host_id="0000a001", pool_size=1)
    await disks.start()
    try:
        assert disks.enabled
        disk = await disks.take(512)
        assert disk is not None
        root = f"/proc/self/fd/{disk.mount_fd}"
        size = os.statvfs(root)
        assert 512 <= size.f_blocks * size.f_frsize / 2**20 < 513
        assert os.listdir(root) == []  # no lost+found, as AWS's /tmp
        assert oct(os.stat(root).st_mode & 0o7777) == oct(0o1777)
        backing = _backing(disk.device)
        assert backing is not None and backing.startswith(str(tmp_path / "disks" / "0000a001"))
        assert backing.endswith("(deleted)")  # unnamed image: nothing to leak on a crash
        with open(f"{root}/data", "wb") as handle:
            handle.write(b"x" * (8 << 20))
        disks.release(disk)
        assert await _until_detached(disk.device, backing)
    finally:
        await disks.close()
    assert sorted(os.listdir(tmp_path / "disks")) == ["templates"]  # lock and dir gone


@needs_loop
async def test_other_sizes_are_made_on_demand_with_their_own_template(tmp_path: Path) -> None:
    disks = EphemeralDisks(directory=tmp_path / "disks", host_id="0000a001", pool_size=0)
    await disks.start()
    try:
        disk = await disks.take(1024)
        assert disk is not None and disk.size_mb == 1024
        size = os.statvfs(f"/proc/self/fd/{disk.mount_fd}")
        assert 1024 <= size.f_blocks * size.f_frsize / 2**20 < 1025
        assert (tmp_path / "disks" / "templates" / "ext4-1024mb.img").exists()
        disks.release(disk)
    finally:
        await disks.close()


@needs_loop
async def test_start_detaches_the_loop_devices_of_a_dead_host(tmp_path: Path) -> None:
    directory = tmp_path / "disks"
    dead = HostLock.acquire(directory, "deadbeef")
    (directory / "deadbeef").mkdir()
    image = directory / "deadbeef" / "left.img"
    with open(image, "wb") as handle:
        handle.truncate(1 << 20)
    control = os.open("/dev/loop-control", os.O_RDWR)
    number = fcntl.ioctl(control, policy.LOOP_CTL_GET_FREE)
    os.close(control)
    device = f"loop{number}"
    loop_fd = os.open(f"/dev/{device}", os.O_RDWR)
    backing_fd = os.open(image, os.O_RDWR)
    # No AUTOCLEAR: only the cleanup can detach this one.
    fcntl.ioctl(loop_fd, policy.LOOP_CONFIGURE, policy.loop_config(backing_fd, flags=0))
    os.close(backing_fd)
    os.close(loop_fd)
    dead.release(keep=True)  # as after kill -9: its lock file stays, nobody holds it
    disks = EphemeralDisks(directory=directory, host_id="0000a002", pool_size=0)
    try:
        await disks.start()
        assert _backing(device) != str(image)
        assert not (directory / "deadbeef").exists()
        assert not (directory / "deadbeef.lock").exists()
    finally:
        await disks.close()
        if _backing(device) == str(image):  # the test failed: do not leave it attached
            fd = os.open(f"/dev/{device}", os.O_RDWR)
            fcntl.ioctl(fd, policy.LOOP_CLR_FD)
            os.close(fd)


async def test_without_loop_devices_tmp_stays_a_tmpfs_with_one_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(ephemeral, "LOOP_CONTROL", str(tmp_path / "no-loop-control"))
    disks = EphemeralDisks(directory=tmp_path / "disks", host_id="0000a001", pool_size=2)
    with caplog.at_level(logging.WARNING, logger="nimbus.worker.sandbox.ephemeral"):
        await disks.start()
        assert not disks.enabled
        assert await disks.take(512) is None
        assert await disks.take(1024) is None
    await disks.close()
    warnings = [r for r in caplog.records if "tmpfs" in r.getMessage()]
    assert len(warnings) == 1


def _detached_tmpfs(size_mb: int) -> int:
    """A tmpfs of ``size_mb`` held by an fd and attached nowhere (closing it unmounts), to
    stand for a data disk with little room."""
    syscall = ctypes.CDLL(None, use_errno=True).syscall
    syscall.restype = ctypes.c_long
    fs = syscall(detached_mount.SYS_FSOPEN, b"tmpfs", detached_mount.FSOPEN_CLOEXEC)
    assert fs >= 0, os.strerror(ctypes.get_errno())
    try:
        set_string = detached_mount.FSCONFIG_SET_STRING
        assert (
            syscall(detached_mount.SYS_FSCONFIG, fs, set_string, b"size", b"%dm" % size_mb, 0) == 0
        )
        assert (
            syscall(
                detached_mount.SYS_FSCONFIG, fs, detached_mount.FSCONFIG_CMD_CREATE, None, None, 0
            )
            == 0
        )
        mount = syscall(detached_mount.SYS_FSMOUNT, fs, detached_mount.FSMOUNT_CLOEXEC, 0)
        assert mount >= 0, os.strerror(ctypes.get_errno())
        return int(mount)
    finally:
        os.close(fs)


@needs_loop
async def test_with_no_overcommit_sparse_disks_in_use_count_whole_until_written() -> None:
    # Room for three 512 MB disks beside the 1 GiB reserve (and the template), not four:
    # each would pass a check of free space alone, as nothing is written to them yet.
    data = _detached_tmpfs(3 * 512 + policy.DISK_RESERVE_MB + 40)
    disks = EphemeralDisks(
        directory=Path(f"/proc/{os.getpid()}/fd/{data}/disks"),
        host_id="0000a003",
        pool_size=0,
        overcommit=1,
    )
    taken: list[ephemeral.TmpDisk] = []
    try:
        await disks.start()
        assert disks.enabled
        for _ in range(3):
            disk = await disks.take(512)
            assert disk is not None
            taken.append(disk)
        with pytest.raises(TooManyRequestsError):
            await disks.take(512)
        disks.release(taken.pop())  # one gone: its room is back
        disk = await disks.take(512)
        assert disk is not None
        taken.append(disk)
    finally:
        for disk in taken:
            disks.release(disk)
        await disks.close()
        os.close(data)
