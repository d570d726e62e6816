"""The configuration travels in a memfd the zygote never reads: what the child parses from
it is what the host wrote."""

from __future__ import annotations

import os

import pytest

from nimbus.worker.sandbox.config import Bind, SandboxConfig, spawn_fds
from nimbus.worker.sandbox.fd_passing import memfd_holding


def test_a_config_read_back_from_its_memfd_is_the_same_config() -> None:
    config = SandboxConfig(
        env_id="env-1",
        isolation="namespaces",
        environ={"SECRET": "s3cr3t", "BIG": "x" * 200_000},
        workdir="/var/task",
        argv=("/var/task/bootstrap",),
        binds=(Bind(source="/code", target="/var/task"),),
        cgroup_procs=("/sys/fs/cgroup/x/cgroup.procs",),
        netns=True,
        tmp_disk=True,
    )
    fd = memfd_holding(config.to_json())
    try:
        os.lseek(fd, 0, os.SEEK_END)  # the offset is shared: readers must not depend on it
        assert SandboxConfig.from_fd(fd) == config
    finally:
        os.close(fd)


def _config(*, netns: bool, tmp_disk: bool) -> SandboxConfig:
    return SandboxConfig(
        env_id="e", isolation="namespaces", environ={}, workdir="/", netns=netns, tmp_disk=tmp_disk
    )


def test_the_spawn_fds_are_read_back_in_the_order_they_are_sent() -> None:
    both = spawn_fds(10, 11, 12, 13)
    assert both == [10, 11, 12, 13]
    assert _config(netns=True, tmp_disk=True).passed_fds(both[2:]) == (12, 13)
    assert spawn_fds(10, 11, None, 13) == [10, 11, 13]
    assert _config(netns=False, tmp_disk=True).passed_fds([13]) == (-1, 13)
    assert spawn_fds(10, 11, 12, None) == [10, 11, 12]
    assert _config(netns=True, tmp_disk=False).passed_fds([12]) == (12, -1)
    assert spawn_fds(10, 11, None, None) == [10, 11]
    assert _config(netns=False, tmp_disk=False).passed_fds([]) == (-1, -1)


@pytest.mark.parametrize("extra", [[], [12], [12, 13, 14]])
def test_fds_that_do_not_match_the_config_are_refused(extra: list[int]) -> None:
    with pytest.raises(ValueError, match="namespace/mount fds"):
        _config(netns=True, tmp_disk=True).passed_fds(extra)
