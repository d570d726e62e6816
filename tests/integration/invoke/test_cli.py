"""End to end: `nimbus invoke`, `nimbus logs` and `nimbus metrics` against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from nimbus.testing.server import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY
from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer


def nimbus(server: NimbusServer, *args: str) -> subprocess.CompletedProcess[str]:
    # The CLI signs with the administrator key the server was started with.
    env = {
        **os.environ,
        "NIMBUS_ADMIN_ACCESS_KEY_ID": ADMIN_ACCESS_KEY_ID,
        "NIMBUS_ADMIN_SECRET_ACCESS_KEY": ADMIN_SECRET_ACCESS_KEY,
    }
    return subprocess.run(
        [sys.executable, "-m", "nimbus.cli", *args, "--endpoint", server.url],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_invoke_and_logs_commands(server: NimbusServer, lam: Any, fname: str) -> None:
    deploy(
        lam,
        fname,
        "def handler(e, c):\n    print('seen', e['n'])\n    return {'twice': e['n'] * 2}\n",
    )
    result = nimbus(server, "invoke", fname, "--payload", '{"n": 21}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"twice": 42}
    deadline = time.monotonic() + 10
    logs = ""
    while time.monotonic() < deadline:
        logs = nimbus(server, "logs", fname).stdout
        if "REPORT RequestId" in logs:
            break
        time.sleep(0.2)
    assert "START RequestId" in logs
    assert "seen 21" in logs
    assert "REPORT RequestId" in logs
    metrics = json.loads(nimbus(server, "metrics").stdout)
    assert metrics["Functions"][fname]["Invocations"] == 1


def test_invoke_command_reports_errors(server: NimbusServer, fname: str) -> None:
    result = nimbus(server, "invoke", f"{fname}-missing")
    assert result.returncode == 1
    assert "ResourceNotFoundException" in result.stderr
