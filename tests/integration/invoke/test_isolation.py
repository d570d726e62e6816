"""End to end: what a function can and cannot do in its sandbox (namespaces isolation)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces isolation needs root")

PROBE = """
import os
def handler(event, context):
    pids = [int(p) for p in os.listdir('/proc') if p.isdigit()]
    try:
        open('/var/task/app.py', 'a').write('# tampered')
        code_writable = True
    except OSError:
        code_writable = False
    try:
        open('/etc/shadow').read()
        reads_shadow = True
    except OSError:
        reads_shadow = False
    return {"uid": os.getuid(), "pids": pids, "code_writable": code_writable,
            "reads_shadow": reads_shadow, "tmp": os.listdir('/tmp'),
            "sees_host_data": os.path.exists(event["data_dir"])}
"""


def test_function_sees_only_itself_and_cannot_write_code(
    lam: Any, server: NimbusServer, fname: str
) -> None:
    deploy(lam, fname, PROBE)
    response, out = call(lam, fname, {"data_dir": str(server.data_dir)})
    assert "FunctionError" not in response, out
    assert out["uid"] != 0
    assert max(out["pids"]) < 100, out["pids"]  # a fresh pid namespace, not the host's
    assert out["code_writable"] is False
    assert out["reads_shadow"] is False
    assert out["tmp"] == []  # a private /tmp, not the host's
    assert out["sees_host_data"] is False


def test_memory_limit_is_enforced_and_host_survives(lam: Any, fname: str) -> None:
    hog = "def handler(e, c):\n    x = bytearray(400 * 1024 * 1024)\n    return len(x)\n"
    deploy(lam, fname, hog, MemorySize=128, Timeout=20)
    response, out = call(lam, fname, {})
    assert response["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.OutOfMemory"
    deploy(lam, f"{fname}-big", hog, MemorySize=1024, Timeout=20)
    assert call(lam, f"{fname}-big", {})[1] == 400 * 1024 * 1024


def test_fork_bomb_takes_down_only_its_own_environment(lam: Any, fname: str) -> None:
    bomb = """
import os, time
def handler(event, context):
    children = 0
    deadline = time.time() + 3
    while time.time() < deadline:
        try:
            if os.fork() == 0:
                time.sleep(30)
                os._exit(0)
            children += 1
        except OSError:
            break
    return children
"""
    deploy(lam, fname, bomb, Timeout=10)
    response, out = call(lam, fname, {})
    if "FunctionError" not in response:
        assert out < 5000  # the pids limit stopped it
    deploy(lam, f"{fname}-ok", "def handler(e, c):\n    return 'still fine'\n")
    assert call(lam, f"{fname}-ok", {})[1] == "still fine"
