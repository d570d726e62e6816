"""Red team: hostile functions trying to exhaust what they share with everyone else.

Memory, processes, file descriptors, disk, the log pipe and time: each test runs a function
that tries to take more than its configuration allows, and asserts that the limit held and
that the server and other functions carried on (the noisy-neighbour half of containment).
"""

from __future__ import annotations

import base64
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces isolation needs root")

ALIVE = "def handler(event, context):\n    return 'alive'\n"


def _host_pids_of_uid(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                status = Path(f"/proc/{entry}/status").read_text()
            except OSError:
                continue
            uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
            if int(uid_line.split()[1]) == uid:
                pids.append(int(entry))
    return pids


@pytest.fixture(scope="module")
def bystander(module_lam: Any) -> str:
    """A warm, well-behaved function whose invokes must stay fast whatever others do."""
    name = "bystander"
    deploy(module_lam, name, ALIVE)
    assert call(module_lam, name, {})[1] == "alive"
    return name


def _bystander_fine(lam: Any, name: str) -> None:
    started = time.monotonic()
    assert call(lam, name, {})[1] == "alive"
    assert time.monotonic() - started < 2.0


def test_memory_limit_counts_every_process_of_the_function(
    module_lam: Any, bystander: str, fname: str
) -> None:
    """Attack: stay under a per-process limit by spreading 400 MB over four child processes
    of a 128 MB function (a per-process rlimit would let each of them have 128 MB)."""
    spreader = """
import os, time
def handler(event, context):
    children = []
    for _ in range(4):
        pid = os.fork()
        if pid == 0:
            block = bytearray(100 * 1024 * 1024)
            for i in range(0, len(block), 4096):
                block[i] = 1
            time.sleep(1)
            os._exit(0)
        children.append(pid)
    return [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
"""
    deploy(module_lam, fname, spreader, MemorySize=128, Timeout=20)
    response, out = call(module_lam, fname, {})
    if "FunctionError" in response:
        assert out["errorType"] == "Runtime.OutOfMemory", out
    else:
        assert sum(1 for status in out if status == 0) <= 1, out  # at most one fits
    _bystander_fine(module_lam, bystander)


def test_thread_bomb_stops_at_the_pids_limit(module_lam: Any, bystander: str, fname: str) -> None:
    """Attack: start threads until something breaks (threads are tasks: they count against
    the pids limit, AWS's 1,024 processes and threads per environment)."""
    bomb = """
import threading
def handler(event, context):
    stop = threading.Event()
    started = 0
    try:
        while started < 20000:
            threading.Thread(target=stop.wait, daemon=True).start()
            started += 1
    except RuntimeError:
        pass
    stop.set()
    return started
"""
    deploy(module_lam, fname, bomb, MemorySize=512, Timeout=20)
    response, out = call(module_lam, fname, {})
    if "FunctionError" not in response:
        assert out < 1024, out
    _bystander_fine(module_lam, bystander)


def test_tmp_cannot_be_allocated_beyond_ephemeral_storage(module_lam: Any, fname: str) -> None:
    """Attack: fallocate (no writing needed) far more than EphemeralStorage in /tmp, and
    sparse files that pretend to be huge, to take the host's disk or memory."""
    filler = """
import errno, os
def handler(event, context):
    stats = os.statvfs("/tmp")
    out = {"total_mb": stats.f_blocks * stats.f_frsize // (1 << 20)}
    fd = os.open("/tmp/big", os.O_CREAT | os.O_WRONLY)
    try:
        os.posix_fallocate(fd, 0, 600 << 20)
        out["fallocate"] = "ok"
    except OSError as exc:
        out["fallocate"] = errno.errorcode[exc.errno]
    os.close(fd)
    os.unlink("/tmp/big")
    with open("/tmp/sparse", "wb") as handle:
        handle.truncate(100 << 30)  # 100 GB of nothing: fine, it takes no space
    out["sparse_used_mb"] = os.stat("/tmp/sparse").st_blocks * 512 // (1 << 20)
    free = os.statvfs("/tmp")
    out["free_mb"] = free.f_bavail * free.f_frsize // (1 << 20)
    return out
"""
    deploy(module_lam, fname, filler, MemorySize=256, EphemeralStorage={"Size": 512}, Timeout=20)
    response, out = call(module_lam, fname, {})
    assert "FunctionError" not in response, out
    assert 480 <= out["total_mb"] <= 512, out
    assert out["fallocate"] in ("ENOSPC", "EFBIG", "EDQUOT"), out
    assert out["sparse_used_mb"] == 0 and out["free_mb"] >= 400, out


def test_stdout_flood_does_not_stall_other_functions(
    module_lam: Any, bystander: str, fname: str
) -> None:
    """Attack: write 30 MB to stdout as fast as possible, so the server's log pipeline
    (reading the pipe, framing lines, storing them) starves everyone else's invokes."""
    flooder = """
import os
def handler(event, context):
    line = b"x" * 1023 + b"\\n"
    chunk = line * 64
    for _ in range(event["chunks"]):
        os.write(1, chunk)
    return "flooded"
"""
    deploy(module_lam, fname, flooder, MemorySize=256, Timeout=30)
    result: dict[str, Any] = {}

    def flood() -> None:
        response, out = call(module_lam, fname, {"chunks": 480}, LogType="Tail")
        result.update(response=response, out=out)

    thread = threading.Thread(target=flood)
    thread.start()
    latencies = []
    deadline = time.monotonic() + 30
    while thread.is_alive() and time.monotonic() < deadline:
        started = time.monotonic()
        assert call(module_lam, bystander, {})[1] == "alive"
        latencies.append(time.monotonic() - started)
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert result["out"] == "flooded", result
    tail = base64.b64decode(result["response"]["LogResult"])
    assert len(tail) <= 4096
    assert latencies and max(latencies) < 1.5, latencies


def test_function_that_never_returns_is_stopped_at_its_timeout(
    module_lam: Any, module_server: NimbusServer, bystander: str, fname: str
) -> None:
    """Attack: ignore SIGTERM, spin, and leave a spinning child behind, hoping to keep a CPU
    and the environment forever."""
    spinner = """
import os, signal
def handler(event, context):
    if not event.get("spin"):
        return {"uid": os.getuid()}
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.fork() == 0:
        os.setsid()
        while True:
            pass
    while True:
        pass
"""
    deploy(module_lam, fname, spinner, Timeout=1)
    uid = call(module_lam, fname, {})[1]["uid"]
    started = time.monotonic()
    response, out = call(module_lam, fname, {"spin": True})
    elapsed = time.monotonic() - started
    assert response["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Sandbox.Timedout", out
    assert elapsed < 4.0, elapsed
    # Nothing of that environment keeps running on the host (bounded wait: 5 s).
    deadline = time.monotonic() + 5
    while _host_pids_of_uid(uid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _host_pids_of_uid(uid) == []
    assert module_server.process is not None and module_server.process.poll() is None
    _bystander_fine(module_lam, bystander)
    assert "uid" in call(module_lam, fname, {})[1]  # the function itself recovers
