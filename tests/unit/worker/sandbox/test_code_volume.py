"""The code volume: its sizing (pure) and, as root, the real volume on a loop device."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nimbus.worker.sandbox import code_volume
from nimbus.worker.sandbox.code_volume import (
    BOTO_PACKAGES,
    CODE_STORAGE_QUOTA,
    MIN_VOLUME,
    CodeVolume,
    volume_bytes,
)

needs_loop = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/loop-control"),
    reason="loop devices need root",
)
GB = 1000**3


def test_a_roomy_disk_gets_the_code_storage_quota() -> None:
    assert volume_bytes(500 * GB) == CODE_STORAGE_QUOTA // 4096 * 4096


def test_a_small_disk_gets_nine_tenths_of_its_free_space_in_whole_blocks() -> None:
    size = volume_bytes(10 * GB + 123)
    assert size is not None
    assert size % 4096 == 0
    assert 9 * GB - 4096 < size <= 9 * GB


def test_a_nearly_full_disk_gets_no_volume() -> None:
    assert volume_bytes(MIN_VOLUME) is None  # nine tenths of it is under the minimum
    assert volume_bytes(0) is None


def test_the_volume_is_formatted_without_a_journal_or_reserved_blocks() -> None:
    argv = code_volume.mkfs_argv("/dev/loop7")
    assert argv[0] == "mkfs.ext4" and argv[-1] == "/dev/loop7"
    assert argv[argv.index("-O") + 1] == "^has_journal"
    assert argv[argv.index("-m") + 1] == "0"


def _mounted_at(path: Path) -> list[list[str]]:
    with open("/proc/self/mountinfo") as handle:
        return [line.split() for line in handle if line.split()[4] == str(path)]


def _fake_site_packages(root: Path) -> Path:
    site = root / "site-packages"
    for name in BOTO_PACKAGES:
        if name.endswith(".py"):
            site.mkdir(parents=True, exist_ok=True)
            (site / name).write_text("# module\n")
        else:
            (site / name).mkdir(parents=True)
            (site / name / "__init__.py").write_text(f"NAME = {name!r}\n")
    (site / "starlette").mkdir()  # a server dependency functions must not see
    (site / "starlette" / "__init__.py").write_text("")
    return site


def _fake_package(root: Path) -> Path:
    package = root / "nimbus"
    (package / "runtimes").mkdir(parents=True)
    (package / "runtimes" / "client.js").write_text("// client\n")
    return package


@needs_loop
async def test_the_volume_is_an_ext4_of_its_own_holding_the_runtime_and_only_boto(
    tmp_path: Path,
) -> None:
    volume = await CodeVolume.open(
        tmp_path / "images",
        runtime_package=_fake_package(tmp_path),
        boto_source=_fake_site_packages(tmp_path),
        mount_dir=tmp_path / "mounts",
    )
    assert volume is not None
    try:
        [entry] = _mounted_at(volume.root)
        assert entry[3] == "/"  # the filesystem's own root: no host path to show
        assert entry[entry.index("-") + 1] == "ext4"
        assert os.stat(volume.root).st_dev != os.stat(tmp_path).st_dev
        assert (volume.runtime_package / "runtimes" / "client.js").read_text() == "// client\n"
        assert volume.boto_dir is not None
        assert sorted(os.listdir(volume.boto_dir)) == sorted(BOTO_PACKAGES)  # no starlette
        for directory in (volume.code_dir, volume.layers_dir, volume.network_dir):
            assert directory.is_dir() and os.stat(directory).st_mode & 0o777 == 0o755
    finally:
        await volume.close()
    assert _mounted_at(volume.root) == []
    assert not volume.root.exists()
    assert os.listdir(tmp_path / "images") == []  # the image was never named


@needs_loop
async def test_without_boto_the_volume_has_no_boto_dir(tmp_path: Path) -> None:
    volume = await CodeVolume.open(
        tmp_path / "images",
        runtime_package=_fake_package(tmp_path),
        boto_source=None,
        mount_dir=tmp_path / "mounts",
    )
    assert volume is not None
    try:
        assert volume.boto_dir is None
        assert not (volume.root / "runtime" / "boto").exists()
    finally:
        await volume.close()


@needs_loop
async def test_the_next_host_unmounts_the_volume_a_dead_host_left(tmp_path: Path) -> None:
    """Whatever its data directory: the mounts and their lock files are the machine's."""
    package = _fake_package(tmp_path)
    dead = await CodeVolume.open(
        tmp_path / "images", runtime_package=package, boto_source=None, mount_dir=tmp_path / "m"
    )
    assert dead is not None
    # Dying with kill -9: the lock file stays, unlocked, and the mount stays too.
    assert dead._lock is not None
    dead._lock.release(keep=True)
    dead._lock = None
    assert len(_mounted_at(dead.root)) == 1
    successor = await CodeVolume.open(
        tmp_path / "other-data-dir",
        runtime_package=package,
        boto_source=None,
        mount_dir=tmp_path / "m",
    )
    assert successor is not None
    try:
        assert _mounted_at(dead.root) == []
        assert not dead.root.exists()
        assert len(_mounted_at(successor.root)) == 1
    finally:
        await successor.close()


async def test_without_root_or_loop_devices_there_is_no_volume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(code_volume, "LOOP_CONTROL", str(tmp_path / "no-loop-control"))
    volume = await CodeVolume.open(
        tmp_path / "images",
        runtime_package=_fake_package(tmp_path),
        boto_source=None,
        mount_dir=tmp_path / "mounts",
    )
    assert volume is None
