"""A kill -9 loses nothing acknowledged; the AWS CLI works against the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from nimbus.testing.server import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY
from tests.support import ROLE, NimbusServer, make_zip


def test_kill9_keeps_every_acknowledged_function(tmp_path: Path) -> None:
    server = NimbusServer(data_dir=tmp_path / "data")
    server.start()
    acknowledged: dict[str, bytes] = {}
    stop = threading.Event()

    def writer() -> None:
        lam = server.client()
        for i in range(10_000):
            if stop.is_set():
                return
            code = make_zip({"app.py": f"def handler(e, c):\n    return {i}\n"})
            try:
                lam.create_function(
                    FunctionName=f"durable-{i}",
                    Runtime="python3.11",
                    Role=ROLE,
                    Handler="app.handler",
                    Code={"ZipFile": code},
                )
            except Exception:
                return  # the server died mid-request: that one was never acknowledged
            acknowledged[f"durable-{i}"] = code

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(200):
            if len(acknowledged) >= 15:
                break
            threading.Event().wait(0.05)
        server.kill9()
    finally:
        stop.set()
        thread.join(timeout=30)
    assert len(acknowledged) >= 5
    server.start()
    try:
        lam = server.client()
        for name, code in acknowledged.items():
            got = lam.get_function(FunctionName=name)
            import httpx

            assert httpx.get(got["Code"]["Location"]).content == code
            lam.get_waiter("function_active_v2").wait(
                FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 20}
            )
    finally:
        server.stop()


def aws(server: NimbusServer, *args: str, cwd: Path) -> Any:
    env = {
        **os.environ,
        # The AWS CLI signs with the server's administrator key, as a user of `make run` does.
        "AWS_ACCESS_KEY_ID": ADMIN_ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": ADMIN_SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_PAGER": "",
    }
    executable = Path(sys.executable).parent / "aws"
    result = subprocess.run(
        [str(executable), "--endpoint-url", server.url, "--output", "json", "lambda", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else None


def test_aws_cli_create_list_delete(server: NimbusServer, fname: str, tmp_path: Path) -> None:
    (tmp_path / "code.zip").write_bytes(make_zip({"app.py": "def handler(e, c):\n  return 1\n"}))
    created = aws(
        server,
        "create-function",
        "--function-name",
        fname,
        "--runtime",
        "python3.11",
        "--role",
        ROLE,
        "--handler",
        "app.handler",
        "--zip-file",
        "fileb://code.zip",
        cwd=tmp_path,
    )
    assert created["FunctionName"] == fname
    listed = aws(server, "list-functions", cwd=tmp_path)
    assert fname in [f["FunctionName"] for f in listed["Functions"]]
    aws(server, "delete-function", "--function-name", fname, cwd=tmp_path)
    with pytest.raises(ClientError):
        server.client().get_function(FunctionName=fname)
