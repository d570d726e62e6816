"""`nimbus runtimes`: what this host runs, with which interpreter, and why a runtime is
missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nimbus.cli", "runtimes", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def test_lists_the_servers_python_and_reasons_for_missing_runtimes() -> None:
    out = run_cli("--json", env={"NIMBUS_RUNTIMES": "nodejs24.x=/no/such/node"})
    assert out.returncode == 0, out.stderr
    rows = {row["runtime"]: row for row in json.loads(out.stdout)["runtimes"]}
    own = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert rows[own]["available"] and rows[own]["interpreter"] == sys.executable
    assert rows[own]["source"] == "server"
    assert not rows["nodejs24.x"]["available"]
    assert "NIMBUS_RUNTIMES maps it to /no/such/node" in rows["nodejs24.x"]["reason"]
    text = run_cli(env={"NIMBUS_RUNTIMES": "nodejs24.x=/no/such/node"}).stdout
    assert f"{own:<12} {sys.executable} (server)" in text
    assert "nodejs24.x   missing: NIMBUS_RUNTIMES maps it to /no/such/node" in text


def test_a_malformed_setting_is_an_error() -> None:
    out = run_cli(env={"NIMBUS_RUNTIMES": "cobol=/usr/bin/cobc"})
    assert out.returncode == 2
    assert "'cobol' is not a Python or Node.js runtime" in out.stderr
