"""Leak 2 of issue 11, the sandbox's side: no sandbox outlives its server. A runtime left
running after a `kill -9` of the server keeps its uid, and a restarted server could hand that
uid (and the Runtime API that trusts it) to another function."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="namespaces isolation needs root"),
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]

# A runtime that does not give up: it keeps polling for work when the Runtime API is gone
# (as the survivor that stole invocations did), and leaves a child behind.
BOOTSTRAP = """#!/bin/sh
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
sleep 600 &
while true; do
  HEADERS="$(mktemp)"
  if ! curl -sS -D "$HEADERS" "$API/invocation/next" >/dev/null 2>&1; then
    sleep 0.1
    continue
  fi
  ID="$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)"
  curl -sS -X POST "$API/invocation/$ID/response" -d "$(id -u)" >/dev/null 2>&1
done
"""


def status(pid: int) -> dict[str, str]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {key: value.strip() for key, value in (line.split(":", 1) for line in text.splitlines())}


def pids_of_uid(uid: int, pid_ns: str = "") -> list[int]:
    """Processes of ``uid`` (in pid namespace ``pid_ns`` if given) not dead yet. Zombies wait
    only for their reaper, which after a crash is the machine's init. The namespace tells
    this sandbox's processes from a later one given the same uid by another server."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, KeyError):
                fields = status(int(entry.name))
                if int(fields["Uid"].split()[0]) != uid or fields["State"].startswith("Z"):
                    continue
                if not pid_ns or os.readlink(entry / "ns" / "pid") == pid_ns:
                    found.append(int(entry.name))
    return found


def sigkill_pending(pid: int) -> bool:
    try:
        fields = status(pid)
    except OSError:
        return True  # gone meanwhile
    mask = int(fields["SigPnd"], 16) | int(fields["ShdPnd"], 16)
    return bool(mask & 1 << (signal.SIGKILL - 1))


def thaw(pid: int) -> None:
    """Thaw the freezer cgroup of ``pid`` (idle environments are frozen, and a task frozen
    by the cgroup v1 freezer acts on a SIGKILL only once thawed; v2 lets it through)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controllers == "freezer":
                Path(f"/sys/fs/cgroup/freezer{path}/freezer.state").write_text("THAWED")
            elif controllers == "":
                for root in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified"):
                    with contextlib.suppress(OSError):
                        Path(f"{root}{path}/cgroup.freeze").write_text("0")


def wait_for(condition: Any, timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def test_sandboxes_die_with_a_killed_server(tmp_path: Path) -> None:
    server = NimbusServer(data_dir=tmp_path / "data")
    server.start()
    uid, pid_ns = 0, ""
    try:
        lam: Any = server.client("lambda")
        deploy(
            lam,
            "lingerer",
            {"bootstrap": BOOTSTRAP},
            runtime="provided.al2023",
            handler="none",
            modes={"bootstrap": 0o755},
        )
        response, uid = call(lam, "lingerer", {})
        assert "FunctionError" not in response, uid
        assert uid != 0
        before = pids_of_uid(uid)
        assert len(before) >= 2  # the runtime and its sleep, before the kill
        pid_ns = os.readlink(f"/proc/{before[0]}/ns/pid")
        assert pid_ns != os.readlink("/proc/self/ns/pid")
        (runtime,) = [pid for pid in before if status(pid)["NSpid"].split()[-1] == "1"]
        server.kill9()
        # The runtime (PID 1 of the sandbox's pid namespace, whose death takes every process
        # there with it) is gone or has its parent-death SIGKILL waiting: an idle, frozen
        # sandbox acts on it when thawed, and runs nothing until then. The zygote dies at
        # once with the server, so this takes milliseconds; the bound is short so that a
        # start-up clean-up by another server on the machine cannot pass for it.
        assert wait_for(lambda: sigkill_pending(runtime), timeout_s=3), status(runtime)
        for pid in pids_of_uid(uid, pid_ns):
            thaw(pid)
        assert wait_for(lambda: not pids_of_uid(uid, pid_ns)), "sandbox outlived its server"
    finally:
        server.stop()
        for pid in pids_of_uid(uid, pid_ns) if pid_ns else []:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
