"""Node.js, custom (provided) runtimes and AWS_LAMBDA_EXEC_WRAPPER through a real host."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from nimbus.model.invocation import InvocationResult
from nimbus.worker.host import LocalWorkerHost
from tests.integration.worker.support import ListSink, request, spec_for, write_code

pytestmark = pytest.mark.asyncio(loop_scope="module")
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")

NODE = """
exports.handler = async (event, context) => {
  console.log("got", JSON.stringify(event));
  return { echo: event, id: context.awsRequestId, fn: context.functionName,
           remaining: context.getRemainingTimeInMillis() > 0 };
};
exports.fails = async () => { throw new TypeError("nope"); };
exports.callback = (event, context, callback) => { callback(null, { cb: event.n + 1 }); };
"""
ESM = "export const handler = async (event) => ({ esm: true, n: event.n });\n"

BOOTSTRAP = """#!/bin/bash
set -euo pipefail
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT=$(curl -sS -LD "$HEADERS" "$API/invocation/next")
  ID=$(grep -Fi Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)
  echo "bash got $EVENT"
  BODY="{\\"bash\\": $EVENT, \\"handler\\": \\"$_HANDLER\\", \\"wrapped\\": \\"${WRAPPED:-no}\\"}"
  curl -sS -X POST "$API/invocation/$ID/response" -d "$BODY" > /dev/null
done
"""

WRAPPER = """#!/bin/bash
export WRAPPED=yes
echo "wrapper running $@"
exec "$@"
"""


@pytest.fixture(scope="module")
def node_code(workdir: Path) -> Path:
    return write_code(workdir, {"index.js": NODE, "esm.mjs": ESM})


@needs_node
async def test_node_async_handler(host: LocalWorkerHost, node_code: Path) -> None:
    spec = spec_for(node_code, runtime="nodejs20.x", handler="index.handler", timeout_s=10)
    env = await host.create_environment(spec)
    try:
        first = await env.invoke(request(spec, b'{"a": 1}', request_id="rid-node"))
        second = await env.invoke(request(spec, b'{"a": 2}'))
    finally:
        await env.destroy()
    assert json.loads(first.payload) == {
        "echo": {"a": 1},
        "id": "rid-node",
        "fn": "fn",
        "remaining": True,
    }
    assert json.loads(second.payload)["echo"] == {"a": 2}
    assert '\trid-node\tINFO\tgot {"a":1}' in first.log_tail


@needs_node
async def test_node_error_callback_and_esm(host: LocalWorkerHost, node_code: Path) -> None:
    cases: list[tuple[str, bytes, Callable[[InvocationResult], bool]]] = [
        (
            "index.fails",
            b"{}",
            lambda r: (
                r.function_error == "Unhandled"
                and json.loads(r.payload)["errorType"] == "TypeError"
                and json.loads(r.payload)["errorMessage"] == "nope"
                and isinstance(json.loads(r.payload)["trace"], list)
            ),
        ),
        ("index.callback", b'{"n": 1}', lambda r: json.loads(r.payload) == {"cb": 2}),
        ("esm.handler", b'{"n": 5}', lambda r: json.loads(r.payload) == {"esm": True, "n": 5}),
        (
            "nothere.handler",
            b"{}",
            lambda r: (
                json.loads(r.payload)["errorType"] == "Runtime.ImportModuleError"
                and r.environment_dead
            ),
        ),
    ]
    for handler, payload, check in cases:
        spec = spec_for(node_code, runtime="nodejs20.x", handler=handler, timeout_s=10)
        env = await host.create_environment(spec)
        try:
            result = await env.invoke(request(spec, payload))
        finally:
            await env.destroy()
        assert check(result), (handler, result)


async def test_provided_bash_bootstrap(host: LocalWorkerHost, workdir: Path) -> None:
    code = write_code(workdir, {"bootstrap": BOOTSTRAP}, executable=["bootstrap"])
    spec = spec_for(code, runtime="provided.al2023", handler="my.handler", timeout_s=10)
    env = await host.create_environment(spec)
    try:
        result = await env.invoke(request(spec, b'{"x": 1}'))
        again = await env.invoke(request(spec, b'{"x": 2}'))
    finally:
        await env.destroy()
    assert json.loads(result.payload) == {
        "bash": {"x": 1},
        "handler": "my.handler",
        "wrapped": "no",
    }
    assert json.loads(again.payload)["bash"] == {"x": 2}
    assert 'bash got {"x": 1}' in result.log_tail
    assert result.billed_duration_ms >= int(result.duration_ms)


async def test_exec_wrapper(host: LocalWorkerHost, workdir: Path, sink: ListSink) -> None:
    code = write_code(
        workdir, {"bootstrap": BOOTSTRAP, "wrap.sh": WRAPPER}, executable=["bootstrap", "wrap.sh"]
    )
    spec = spec_for(
        code,
        runtime="provided.al2",
        timeout_s=10,
        environment={"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrap.sh"},
    )
    env = await host.create_environment(spec)
    try:
        result = await env.invoke(request(spec, b"1"))
    finally:
        await env.destroy()
    assert json.loads(result.payload)["wrapped"] == "yes"
    # The wrapper ran during Init, so its output precedes START in the stream.
    assert any(m.startswith("wrapper running ") for m in sink.messages(env.log.stream))


async def test_python_exec_wrapper(host: LocalWorkerHost, workdir: Path) -> None:
    code = write_code(
        workdir,
        {
            "app.py": "import os\ndef handler(e, c):\n    return os.environ.get('WRAPPED')\n",
            "wrap.sh": WRAPPER,
        },
        executable=["wrap.sh"],
    )
    spec = spec_for(
        code, timeout_s=10, environment={"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrap.sh"}
    )
    env = await host.create_environment(spec)
    try:
        result = await env.invoke(request(spec))
    finally:
        await env.destroy()
    assert json.loads(result.payload) == "yes", result


async def test_missing_bootstrap(host: LocalWorkerHost, workdir: Path) -> None:
    code = write_code(workdir, {"README": "no bootstrap here"})
    spec = spec_for(code, runtime="provided.al2023")
    env = await host.create_environment(spec)
    result = await env.invoke(request(spec))
    await env.destroy()
    assert json.loads(result.payload)["errorType"] == "Runtime.InvalidEntrypoint"
    assert result.environment_dead
