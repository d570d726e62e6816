"""End to end: the commands that call a server (`nimbus invoke`, `logs`, `metrics`, `layer
publish`) sign their requests, authentication being on; and the server refuses to start with
authentication off anywhere but on loopback."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from nimbus.testing.server import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, free_port
from tests.integration.cli.helpers import clean_env, nimbus
from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer

ADMIN_ENV = {
    "NIMBUS_ADMIN_ACCESS_KEY_ID": ADMIN_ACCESS_KEY_ID,
    "NIMBUS_ADMIN_SECRET_ACCESS_KEY": ADMIN_SECRET_ACCESS_KEY,
}


def signed(server: NimbusServer, tmp_path: Path, *args: str) -> Any:
    """`nimbus ARGS --endpoint URL` with the server's administrator key in the environment
    (and a data directory without admin.credentials, so that key is what signs)."""
    return nimbus(
        *args,
        "--endpoint",
        server.url,
        "--data-dir",
        str(tmp_path / "no-data"),
        env=clean_env(**ADMIN_ENV),
        cwd=tmp_path,
    )


def test_invoke_logs_and_metrics_are_signed(
    server: NimbusServer, lam: Any, fname: str, tmp_path: Path
) -> None:
    deploy(lam, fname, "def handler(e, c):\n    print('seen', e['n'])\n    return e['n'] + 1\n")
    result = signed(server, tmp_path, "invoke", fname, "--payload", '{"n": 41}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == 42
    logs = ""
    deadline = time.monotonic() + 10
    while "REPORT RequestId" not in logs and time.monotonic() < deadline:
        got = signed(server, tmp_path, "logs", fname)
        assert got.returncode == 0, got.stderr
        logs = got.stdout
        time.sleep(0.2)
    assert "seen 41" in logs
    metrics = signed(server, tmp_path, "metrics")
    assert metrics.returncode == 0, metrics.stderr
    assert json.loads(metrics.stdout)["Functions"][fname]["Invocations"] == 1


def test_invoke_errors_are_one_line(server: NimbusServer, fname: str, tmp_path: Path) -> None:
    missing = signed(server, tmp_path, "invoke", f"{fname}-missing")
    assert missing.returncode == 1
    assert missing.stderr.startswith("ResourceNotFoundException: ")
    unsigned = nimbus(
        "invoke",
        fname,
        "--endpoint",
        server.url,
        "--data-dir",
        str(tmp_path / "no-data"),
        cwd=tmp_path,
    )
    assert unsigned.returncode == 1
    assert unsigned.stderr.startswith("MissingAuthenticationTokenException: ")
    assert "no credentials found" in unsigned.stderr
    wrong = nimbus(
        "invoke",
        fname,
        "--endpoint",
        server.url,
        env=clean_env(
            AWS_ACCESS_KEY_ID="AKIANOTAKEY000000000", AWS_SECRET_ACCESS_KEY="not-a-secret"
        ),
        cwd=tmp_path,
    )
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("UnrecognizedClientException: ")
    assert "from AWS_ACCESS_KEY_ID" in wrong.stderr
    for result in (missing, unsigned, wrong):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_layer_publish_is_signed(
    server: NimbusServer, lam: Any, fname: str, tmp_path: Path
) -> None:
    (tmp_path / "layer" / "python").mkdir(parents=True)
    (tmp_path / "layer" / "python" / "helper.py").write_text("VALUE = 42\n")
    result = signed(server, tmp_path, "layer", "publish", fname, str(tmp_path / "layer"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f":layer:{fname}:1")
    assert lam.get_layer_version(LayerName=fname, VersionNumber=1)["Version"] == 1


def test_auth_off_on_every_interface_refuses_to_start(tmp_path: Path) -> None:
    base = ["server", "--port", str(free_port()), "--data-dir", str(tmp_path / "data")]
    for args, env in (
        ([*base, "--host", "0.0.0.0"], clean_env(NIMBUS_AUTH="off")),
        ([*base, "--auth", "off"], clean_env(NIMBUS_HOST="0.0.0.0")),
    ):
        result = nimbus(*args, env=env, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith(
            "Refusing to start with authentication off (NIMBUS_AUTH=off / --auth off) on 0.0.0.0"
        )
    assert not (tmp_path / "data").exists()
