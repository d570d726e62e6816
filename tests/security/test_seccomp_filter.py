"""The seccomp filter, end to end: a function cannot mount, ptrace, use the keyring, make
namespaces or turn off ASLR, in both isolation levels and after an execve (a custom
`bootstrap` runtime that runs another program); ordinary work (threads, subprocesses,
sockets, fork) is unaffected."""

from __future__ import annotations

import errno
import os
import platform
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="namespaces isolation needs root"),
    pytest.mark.skipif(
        platform.machine() not in ("x86_64", "aarch64"), reason="syscall numbers of x86_64/arm64"
    ),
]

# Run as a handler (Python runtime) or as a program (from the custom runtime's bootstrap).
PROBE = r"""
import ctypes, json, os, platform, socket, subprocess, threading

NR = {"x86_64": {"keyctl": 250, "add_key": 248}, "aarch64": {"keyctl": 219, "add_key": 217}}
NR = {**NR[platform.machine()], "clone3": 435, "io_uring_setup": 425}
libc = ctypes.CDLL(None, use_errno=True)
L = ctypes.c_long


def errno_of(result):
    return 0 if result != -1 else ctypes.get_errno()


def probe():
    out = {}
    # A target that does not exist: the filter answers before the path is looked at, and
    # a run without the filter (as root, in process isolation) must mount nothing.
    target = b"/nonexistent/nimbus-probe"
    out["mount"] = errno_of(libc.mount(b"none", target, b"tmpfs", L(0), None))
    out["unshare"] = errno_of(libc.unshare(0x10000000))  # CLONE_NEWUSER
    out["ptrace"] = errno_of(libc.ptrace(L(0), L(0), None, None))  # PTRACE_TRACEME
    out["keyctl"] = errno_of(libc.syscall(L(NR["keyctl"]), L(0), L(-4), L(0)))
    out["add_key"] = errno_of(
        libc.syscall(L(NR["add_key"]), b"user", b"probe", b"x", L(1), L(-3))
    )
    out["clone3"] = errno_of(libc.syscall(L(NR["clone3"]), None, L(0)))
    out["io_uring"] = errno_of(libc.syscall(L(NR["io_uring_setup"]), L(1), None))
    out["no_aslr"] = errno_of(libc.personality(ctypes.c_ulong(0x0040000)))
    out["personality_query"] = errno_of(libc.personality(ctypes.c_ulong(0xFFFFFFFF)))
    status = dict(
        line.split(":", 1) for line in open("/proc/self/status").read().splitlines()
    )
    out["seccomp"] = status["Seccomp"].strip()
    box = []
    thread = threading.Thread(target=lambda: box.append("thread"))
    thread.start()
    thread.join()
    out["thread"] = box
    out["subprocess"] = subprocess.run(
        ["/bin/sh", "-c", "grep Seccomp: /proc/self/status"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    left, right = socket.socketpair()
    left.sendall(b"ping")
    out["socketpair"] = right.recv(4).decode()
    with socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname()) as client:
            conn, _ = server.accept()
            client.sendall(b"tcp")
            out["tcp"] = conn.recv(3).decode()
            conn.close()
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    out["fork"] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
    return out


def handler(event, context):
    return probe()


if __name__ == "__main__":
    print(json.dumps(probe()))
"""

# The custom runtime: a shell script (itself exec'd by the sandbox) runs the probe as a
# Python program, two execve away from the sandbox's own set-up.
BOOTSTRAP = """#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  curl -sS -D "$HEADERS" "$API/invocation/next" >/dev/null
  ID="$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)"
  BODY="$(/var/lang/bin/python3 /var/task/probe.py)"
  curl -sS -X POST "$API/invocation/$ID/response" -d "$BODY" >/dev/null
done
"""


@pytest.fixture(scope="module")
def process_lam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server running sandboxes in `process` isolation (root here, but no namespaces)."""
    data = tmp_path_factory.mktemp("nimbus-process") / "data"
    instance = NimbusServer(data_dir=data, env={"NIMBUS_ISOLATION": "process"})
    instance.start()
    yield instance.client("lambda")
    instance.stop()


def assert_filtered(out: dict[str, Any]) -> None:
    assert out["seccomp"] == "2", out  # SECCOMP_MODE_FILTER
    for name in ("mount", "unshare", "ptrace", "keyctl", "add_key", "io_uring", "no_aslr"):
        assert out[name] == errno.EPERM, (name, out)
    assert out["clone3"] == errno.ENOSYS, out  # so that glibc falls back to clone
    assert out["personality_query"] == 0, out
    assert out["thread"] == ["thread"]
    assert out["subprocess"] == ["Seccomp:", "2"]  # the filter survives fork and execve
    assert out["socketpair"] == "ping" and out["tcp"] == "tcp"
    assert out["fork"] == 7


def test_python_function_runs_under_the_filter(module_lam: Any, fname: str) -> None:
    deploy(module_lam, fname, PROBE, Timeout=30)
    response, out = call(module_lam, fname, {})
    assert "FunctionError" not in response, out
    assert_filtered(out)


def test_process_isolation_runs_under_the_filter_too(process_lam: Any, fname: str) -> None:
    deploy(process_lam, fname, PROBE, Timeout=30)
    response, out = call(process_lam, fname, {})
    assert "FunctionError" not in response, out
    assert_filtered(out)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.skipif(not Path("/bin/sh").exists(), reason="no /bin/sh")
def test_custom_runtime_is_filtered_after_execve(module_lam: Any, fname: str) -> None:
    deploy(
        module_lam,
        fname,
        {"bootstrap": BOOTSTRAP, "probe.py": PROBE},
        runtime="provided.al2023",
        handler="none",
        modes={"bootstrap": 0o755},
        Timeout=30,
    )
    response, out = call(module_lam, fname, {})
    assert "FunctionError" not in response, out
    assert_filtered(out)
