"""The configuration travels in a memfd the zygote never reads: what the child parses from
it is what the host wrote."""

from __future__ import annotations

import os

from nimbus.worker.sandbox.config import Bind, SandboxConfig
from nimbus.worker.sandbox.zygote import _memfd_holding


def test_a_config_read_back_from_its_memfd_is_the_same_config() -> None:
    config = SandboxConfig(
        env_id="env-1",
        isolation="namespaces",
        environ={"SECRET": "s3cr3t", "BIG": "x" * 200_000},
        workdir="/var/task",
        argv=("/var/task/bootstrap",),
        binds=(Bind(source="/code", target="/var/task"),),
        cgroup_procs=("/sys/fs/cgroup/x/cgroup.procs",),
        netns="/run/netns/n1",
    )
    fd = _memfd_holding(config.to_json())
    try:
        os.lseek(fd, 0, os.SEEK_END)  # the offset is shared: readers must not depend on it
        assert SandboxConfig.from_fd(fd) == config
    finally:
        os.close(fd)
