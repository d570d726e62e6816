"""``enter.join_netns``: the launcher joins the network namespace the host prepared (issue 11,
leak 4's sandbox side), before the other namespaces are made, by the fd it was given."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from nimbus.worker.sandbox import enter

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="setns needs root"),
    pytest.mark.skipif(shutil.which("ip") is None, reason="iproute2 is not installed"),
]


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"nimbus-test-{secrets.token_hex(4)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield f"/run/netns/{name}"
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=True)


def in_child(path: str) -> int:
    """Join ``path`` in a forked child; its network namespace inode (0: the join failed)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - reports through the pipe
        inode = 0
        try:
            # As the launcher gets it: an fd of its own (passed with the spawn request).
            enter.join_netns(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
            inode = os.stat("/proc/self/ns/net").st_ino
        finally:
            os.write(write_end, str(inode).encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        raw = reader.read()
    os.waitpid(pid, 0)
    return int(raw or 0)


def test_the_launcher_joins_the_prepared_network_namespace(netns: str) -> None:
    host = os.stat("/proc/self/ns/net").st_ino
    joined = in_child(netns)
    assert joined == os.stat(netns).st_ino
    assert joined != host
    assert os.stat("/proc/self/ns/net").st_ino == host  # the caller's own is untouched


def test_joining_what_is_not_a_network_namespace_fails() -> None:
    assert in_child("/proc/self/ns/uts") == 0  # setns(CLONE_NEWNET) refuses another type
