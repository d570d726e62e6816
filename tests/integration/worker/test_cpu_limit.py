"""End to end: the CPU a 128 MB environment gets after Init, under each NIMBUS_CPU_LIMIT.

The function reports its own cgroup (``/proc/self/cgroup``: no cgroup namespace, so the
path is the host's); the test reads that cgroup's CPU files from the host side.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer

CGROUP = Path("/sys/fs/cgroup")
V2 = (CGROUP / "cgroup.controllers").exists()
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not (V2 or (CGROUP / "cpu").is_dir()),
    reason="cgroups are managed only with namespaces isolation (root) on v1 or v2",
)

HANDLER = """
def handler(event, context):
    return open("/proc/self/cgroup").read()
"""


def cpu_dir(lam: Any, name: str) -> Path:
    """The host directory of the cpu cgroup the function's runtime runs in."""
    deploy(lam, name, HANDLER, MemorySize=128)
    _, out = call(lam, name, {})
    text = str(out)
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        if V2 and controllers == "":
            return CGROUP / path.lstrip("/")
        if not V2 and "cpu" in controllers.split(","):
            return CGROUP / "cpu" / path.lstrip("/")
    raise AssertionError(f"no cpu cgroup in {text!r}")


def read(directory: Path, name: str) -> str:
    return (directory / name).read_text().strip()


@pytest.fixture(scope="module")
def quota_lam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = NimbusServer(
        data_dir=tmp_path_factory.mktemp("cpu-quota") / "data", env={"NIMBUS_CPU_LIMIT": "quota"}
    )
    server.start()
    yield server.client("lambda")
    server.stop()


def test_default_shares_give_a_weight_and_no_quota(lam: Any, fname: str) -> None:
    directory = cpu_dir(lam, fname)
    assert "nimbus-" in str(directory)  # the environment's own cgroup, not the server's
    if V2:
        assert read(directory, "cpu.weight") == "7"  # 100 * 128 / 1769
        assert read(directory, "cpu.max").split()[0] == "max"
    else:
        assert read(directory, "cpu.shares") == "74"  # 1024 * 128 / 1769
        assert read(directory, "cpu.cfs_quota_us") == "-1"


def test_quota_setting_gives_the_hard_quota(quota_lam: Any, fname: str) -> None:
    directory = cpu_dir(quota_lam, fname)
    expected = "1447"  # 7.2% of each 20 ms period: 128 / 1769 of one CPU
    if V2:
        assert read(directory, "cpu.max") == f"{expected} 20000"
        assert read(directory, "cpu.weight") == "100"  # the quota alone limits it
        burst = directory / "cpu.max.burst"
    else:
        assert read(directory, "cpu.cfs_quota_us") == expected
        assert read(directory, "cpu.cfs_period_us") == "20000"
        assert read(directory, "cpu.shares") == "1024"
        burst = directory / "cpu.cfs_burst_us"
    if burst.exists():  # Linux 5.14+: one period's quota may be banked
        assert read(directory, burst.name) == expected
