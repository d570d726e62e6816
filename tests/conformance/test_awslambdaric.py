"""AWS's own Python runtime interface client (awslambdaric from PyPI), unmodified, vendored
into a ``provided.al2023`` function's code as a user would, runs against Nimbus's Runtime API."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from nimbus.clock import SystemClock
from nimbus.worker.host import LocalWorkerHost
from tests.integration.worker.support import ListSink, request, spec_for, write_code

pytestmark = pytest.mark.asyncio(loop_scope="module")

VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"
CACHE = Path.home() / ".cache" / "nimbus-tests" / f"awslambdaric-py{VERSION.replace('.', '')}"
APP = """
import os
def handler(event, context):
    print("ric handler", event)
    return {"ric": event, "id": context.aws_request_id, "fn": context.function_name}
def fails(event, context):
    raise KeyError("missing")
"""


def vendored_ric() -> Path:
    """``pip install awslambdaric --target`` once, cached across runs."""
    if not (CACHE / "awslambdaric").is_dir():
        staging = CACHE.with_suffix(".tmp")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--target",
                    str(staging),
                    "awslambdaric",
                ],
                check=True,
                timeout=300,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            pytest.skip(f"cannot pip install awslambdaric: {exc}")
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(CACHE)
    return CACHE


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def host(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[LocalWorkerHost]:
    instance = LocalWorkerHost(
        data_dir=tmp_path_factory.mktemp("ric") / "data", log_sink=ListSink(), clock=SystemClock()
    )
    await instance.start()
    yield instance
    await instance.close()


@pytest.fixture(scope="module")
def code(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ric = vendored_ric()
    code = write_code(
        tmp_path_factory.mktemp("riccode"),
        {
            "app.py": APP,
            "bootstrap": f'#!/bin/sh\nexec python{VERSION} -m awslambdaric "$_HANDLER"\n',
        },
        executable=["bootstrap"],
    )
    shutil.copytree(ric, code, dirs_exist_ok=True)
    for path in [code, *code.rglob("*")]:
        path.chmod(0o755 if path.is_dir() or path.name == "bootstrap" else 0o644)
    return code


async def test_awslambdaric_success_and_error(host: LocalWorkerHost, code: Path) -> None:
    spec = spec_for(
        code, runtime="provided.al2023", handler="app.handler", timeout_s=20, memory_mb=512
    )
    env = await host.create_environment(spec)
    try:
        result = await env.invoke(request(spec, b'{"k": "v"}', request_id="rid-ric"))
        again = await env.invoke(request(spec, b'{"k": 2}'))
    finally:
        await env.destroy()
    assert result.function_error is None, result.payload
    assert json.loads(result.payload) == {"ric": {"k": "v"}, "id": "rid-ric", "fn": "fn"}
    assert json.loads(again.payload)["ric"] == {"k": 2}
    assert "ric handler {'k': 'v'}" in result.log_tail

    spec = spec_for(
        code, runtime="provided.al2023", handler="app.fails", timeout_s=20, memory_mb=512
    )
    env = await host.create_environment(spec)
    try:
        failed = await env.invoke(request(spec))
    finally:
        await env.destroy()
    body = json.loads(failed.payload)
    assert failed.function_error == "Unhandled"
    assert body["errorType"] == "KeyError" and body["errorMessage"] == "'missing'"


async def test_awslambdaric_import_error(host: LocalWorkerHost, code: Path) -> None:
    spec = spec_for(
        code, runtime="provided.al2023", handler="nope.handler", timeout_s=20, memory_mb=512
    )
    env = await host.create_environment(spec)
    result = await env.invoke(request(spec))
    await env.destroy()
    body = json.loads(result.payload)
    assert body["errorType"] == "Runtime.ImportModuleError"
    assert result.environment_dead
