"""End to end: Node.js and custom (`provided`) runtimes, and exec wrappers."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


@needs_node
def test_node_async_handler_and_error(lam: Any, fname: str) -> None:
    source = """
exports.handler = async (event, context) => {
  if (event.fail) { throw new TypeError('bad input'); }
  return { echo: event, fn: context.functionName, rid: context.awsRequestId };
};
"""
    deploy(lam, fname, source, runtime="nodejs20.x", handler="index.handler")
    response, out = call(lam, fname, {"a": 1})
    assert out["echo"] == {"a": 1}
    assert out["fn"] == fname
    assert out["rid"] == response["ResponseMetadata"]["RequestId"]
    response, out = call(lam, fname, {"fail": True})
    assert response["FunctionError"] == "Unhandled"
    assert out["errorType"] == "TypeError"
    assert out["errorMessage"] == "bad input"


BOOTSTRAP = """#!/bin/sh
set -eu
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
while true; do
  HEADERS="$(mktemp)"
  EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")"
  ID="$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)"
  BODY="{\\"got\\": $EVENT, \\"handler\\": \\"$_HANDLER\\"}"
  curl -sS -X POST "$API/invocation/$ID/response" -d "$BODY" >/dev/null
done
"""


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_provided_bootstrap(lam: Any, fname: str) -> None:
    deploy(
        lam,
        fname,
        {"bootstrap": BOOTSTRAP},
        runtime="provided.al2023",
        handler="my.handler",
        modes={"bootstrap": 0o755},
    )
    response, out = call(lam, fname, {"x": 2})
    assert "FunctionError" not in response, out
    assert out == {"got": {"x": 2}, "handler": "my.handler"}


def test_exec_wrapper_runs_before_the_runtime(lam: Any, fname: str) -> None:
    wrapper = '#!/bin/sh\nexport WRAPPED=yes\nexec "$@"\n'
    source = "import os\ndef handler(e, c):\n    return os.environ.get('WRAPPED')\n"
    deploy(
        lam,
        fname,
        {"app.py": source, "wrapper.sh": wrapper},
        modes={"wrapper.sh": 0o755},
        Environment={"Variables": {"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/wrapper.sh"}},
    )
    assert call(lam, fname, {})[1] == "yes"
