"""What a sandbox needs to know to build itself, sent from the host to the sandbox as JSON.

The JSON travels in a memfd passed through the zygote unread (``zygote.ZygoteClient.spawn``):
it holds the function's environment, secrets included, and only the forked child (or its
short-lived launcher) reads it, so no later fork of the long-lived zygote inherits it. The
network namespace and /tmp mount to use come beside it as fds (``spawn_fds``).

Standard library only: this module is imported by the zygote, which must start fast.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

NAMESPACES = "namespaces"
PROCESS = "process"
MAX_SPAWN_FDS = 4  # log, config, network namespace, /tmp mount


def spawn_fds(log: int, config: int, netns: int | None, tmp: int | None) -> list[int]:
    """The fds a spawn request carries, in the order ``SandboxConfig.passed_fds`` reads
    (pure). The namespace and the mount travel as descriptors, not /proc/<host>/fd/<n>
    paths: a path names whatever the host's fd number means when it is opened, and a late
    launcher could then join another sandbox's network or attach its /tmp."""
    return [log, config, *(fd for fd in (netns, tmp) if fd is not None)]


@dataclass(frozen=True, kw_only=True)
class Bind:
    source: str
    target: str  # path inside the sandbox root


@dataclass(frozen=True, kw_only=True)
class SandboxConfig:
    env_id: str
    isolation: str  # NAMESPACES | PROCESS
    environ: dict[str, str]
    workdir: str  # /var/task in namespaces mode; the code directory itself in process mode
    # None: run Nimbus's Python runtime client inside the forked zygote; else exec this argv.
    argv: tuple[str, ...] | None = None
    handler: str = ""
    sys_path: tuple[str, ...] = ()  # before the zygote's stdlib path (Python only)
    sys_path_tail: tuple[str, ...] = ()  # after it: the host's boto3, as Lambda bundles it
    uid: int = 0
    gid: int = 0
    root_dir: str = ""  # empty host directory the sandbox root tmpfs is mounted on
    binds: tuple[Bind, ...] = ()  # read-only bind mounts into the root
    tmp_mb: int = 512
    # True: /tmp is a detached ext4 mount the host prepared (sandbox.ephemeral), passed as
    # an fd (``spawn_fds``); False: a tmpfs of tmp_mb (charged to memory).
    tmp_disk: bool = False
    cgroup_procs: tuple[str, ...] = ()  # cgroup.procs files to join before anything runs
    memory_mb: int = 128  # only used as an rlimit in process mode
    hostname: str = "localhost"
    # True: join the network namespace passed as an fd (``spawn_fds``); False: the host's.
    netns: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def passed_fds(self, extra: Sequence[int]) -> tuple[int, int]:
        """The (network namespace, /tmp mount) fds among the ``extra`` ones that came after
        the log and config fds, -1 for each not used (pure; the order ``spawn_fds`` makes).
        Raises ValueError when they do not match this configuration."""
        wanted = int(self.netns) + int(self.tmp_disk)
        if len(extra) != wanted:
            raise ValueError(f"spawn has {len(extra)} namespace/mount fds, wants {wanted}")
        rest = list(extra)
        netns = rest.pop(0) if self.netns else -1
        tmp = rest.pop(0) if self.tmp_disk else -1
        return netns, tmp

    def to_json(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def from_fd(cls, fd: int) -> SandboxConfig:
        """Parse the configuration from the memfd the host wrote it to (from offset 0: the
        descriptor's offset is shared with every copy of it)."""
        size = os.fstat(fd).st_size
        data = b""
        while len(data) < size:
            chunk = os.pread(fd, size - len(data), len(data))
            if not chunk:
                break
            data += chunk
        return cls.from_json(data)

    @classmethod
    def from_json(cls, data: bytes) -> SandboxConfig:
        raw = json.loads(data)
        argv = raw.pop("argv")
        return cls(
            **{
                **raw,
                "argv": None if argv is None else tuple(argv),
                "sys_path": tuple(raw["sys_path"]),
                "sys_path_tail": tuple(raw["sys_path_tail"]),
                "binds": tuple(Bind(**b) for b in raw["binds"]),
                "cgroup_procs": tuple(raw["cgroup_procs"]),
            }
        )
