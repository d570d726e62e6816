"""The CPU policy (MemorySize -> cgroup values) and the cgroup writes that carry it out."""

from __future__ import annotations

from pathlib import Path

import pytest

from nimbus.worker.sandbox.cgroups import Cgroups, EnvCgroup
from nimbus.worker.sandbox.cpu_policy import (
    CpuLimit,
    cpu_shares,
    cpu_weight,
    cpu_writes,
    parse_cpu_limit,
)


def test_v1_shares_are_1024_per_1769_mb_and_at_least_2() -> None:
    assert cpu_shares(1769) == 1024
    assert cpu_shares(128) == 74  # 1024 * 128 / 1769 = 74.1
    assert cpu_shares(3538) == 2048
    assert cpu_shares(10240) == 5928  # 5927.5
    assert cpu_shares(1) == 2  # the kernel's minimum


def test_v2_weight_is_100_per_1769_mb_within_1_and_10000() -> None:
    assert cpu_weight(1769) == 100
    assert cpu_weight(128) == 7
    assert cpu_weight(10240) == 579
    assert cpu_weight(1) == 1
    assert cpu_weight(1769 * 200) == 10_000


def test_shares_write_only_a_weight_no_quota() -> None:
    assert cpu_writes(CpuLimit.SHARES, 128, v2=False, cpus=2, burst=True) == (("cpu.shares", "74"),)
    assert cpu_writes(CpuLimit.SHARES, 128, v2=True, cpus=2, burst=True) == (("cpu.weight", "7"),)


def test_quota_is_per_20ms_period_with_one_quota_of_burst() -> None:
    assert cpu_writes(CpuLimit.QUOTA, 128, v2=False, cpus=2, burst=True) == (
        ("cpu.cfs_period_us", "20000"),
        ("cpu.cfs_quota_us", "1447"),
        ("cpu.cfs_burst_us", "1447"),
    )
    assert cpu_writes(CpuLimit.QUOTA, 128, v2=True, cpus=2, burst=True) == (
        ("cpu.max", "1447 20000"),
        ("cpu.max.burst", "1447"),
    )


def test_quota_without_burst_support_and_capped_at_the_host_cpus() -> None:
    assert cpu_writes(CpuLimit.QUOTA, 1769, v2=False, cpus=2, burst=False) == (
        ("cpu.cfs_period_us", "20000"),
        ("cpu.cfs_quota_us", "20000"),
    )
    assert cpu_writes(CpuLimit.QUOTA, 10240, v2=True, cpus=2, burst=False) == (
        ("cpu.max", "40000 20000"),
    )


def test_the_setting_accepts_shares_and_quota_only() -> None:
    assert parse_cpu_limit("shares") is CpuLimit.SHARES
    assert parse_cpu_limit(" Quota ") is CpuLimit.QUOTA
    with pytest.raises(ValueError, match="shares \\| quota"):
        parse_cpu_limit("hard")


def _fake(tmp_path: Path, *, v2: bool, burst: bool) -> tuple[Cgroups, EnvCgroup]:
    """A Cgroups over plain directories standing in for /sys/fs/cgroup."""
    parent = tmp_path / "parent"
    env = parent / "env"
    env.mkdir(parents=True)
    if burst:
        (parent / ("cpu.max.burst" if v2 else "cpu.cfs_burst_us")).write_text("0\n")
    cgroups = Cgroups(v2=v2, parents={"unified" if v2 else "cpu": parent})
    group = EnvCgroup(dirs=(env,), memory_dir=env, pids_dir=env, cpu_dir=env, v2=v2)
    return cgroups, group


def _files(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in directory.iterdir()}


@pytest.mark.parametrize("v2", [False, True])
def test_burst_is_written_only_where_the_kernel_has_it(tmp_path: Path, v2: bool) -> None:
    with_burst, group = _fake(tmp_path / "a", v2=v2, burst=True)
    without, other = _fake(tmp_path / "b", v2=v2, burst=False)
    assert with_burst.cpu_burst and not without.cpu_burst
    with_burst.limit_cpu(group, 128, CpuLimit.QUOTA)
    without.limit_cpu(other, 128, CpuLimit.QUOTA)
    burst = "cpu.max.burst" if v2 else "cpu.cfs_burst_us"
    assert _files(group.cpu_dir)[burst] == "1447"
    assert burst not in _files(other.cpu_dir)


def test_v2_shares_write_cpu_weight(tmp_path: Path) -> None:
    cgroups, group = _fake(tmp_path, v2=True, burst=True)
    cgroups.limit_cpu(group, 512, CpuLimit.SHARES)
    assert _files(group.cpu_dir) == {"cpu.weight": "29"}


def test_a_failed_cpu_write_is_logged_once_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cgroups, group = _fake(tmp_path, v2=False, burst=False)
    gone = EnvCgroup(
        dirs=group.dirs,
        memory_dir=group.memory_dir,
        pids_dir=group.pids_dir,
        cpu_dir=tmp_path / "removed",
        v2=False,
    )
    cgroups.limit_cpu(gone, 128, CpuLimit.SHARES)
    cgroups.limit_cpu(gone, 128, CpuLimit.QUOTA)
    assert [r.message for r in caplog.records if "could not limit CPU" in r.message] == [
        f"could not limit CPU of {tmp_path / 'removed'} ([Errno 2] No such file or directory: "
        f"'{tmp_path / 'removed' / 'cpu.shares'}')"
    ]
