"""End to end: a custom runtime that speaks HTTP/1.0 over bash's ``/dev/tcp`` and reads
each Runtime API answer until EOF, as minimal runtimes (bash, C) do. Before the Runtime API
closed HTTP/1.0 connections after answering, its first ``cat`` never returned and the invoke
timed out."""

from __future__ import annotations

from typing import Any

from tests.integration.invoke.helpers import call, deploy

BOOTSTRAP = r"""#!/bin/bash
set -euo pipefail
export LC_ALL=C  # ${#BODY} then counts bytes, as Content-Length must
HOST=${AWS_LAMBDA_RUNTIME_API%:*}
PORT=${AWS_LAMBDA_RUNTIME_API#*:}
BASE=/2018-06-01/runtime
while true; do
  exec 3<>/dev/tcp/$HOST/$PORT
  printf 'GET %s/invocation/next HTTP/1.0\r\n\r\n' "$BASE" >&3
  RESPONSE=$(cat <&3)  # until the server closes the connection
  exec 3<&-
  ID=$(printf '%s' "$RESPONSE" | tr -d '\r' \
    | sed -n 's/^[Ll]ambda-[Rr]untime-[Aa]ws-[Rr]equest-[Ii]d: *//p')
  EVENT=${RESPONSE#*$'\r\n\r\n'}
  BODY="{\"http10\": $EVENT, \"id\": \"$ID\"}"
  exec 3<>/dev/tcp/$HOST/$PORT
  printf 'POST %s/invocation/%s/response HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s' \
    "$BASE" "$ID" "${#BODY}" "$BODY" >&3
  ANSWER=$(cat <&3)
  exec 3<&-
  echo "posted: ${ANSWER%%$'\r'*}"
done
"""


def test_http10_bash_bootstrap_answers_every_invoke(lam: Any, fname: str) -> None:
    deploy(
        lam,
        fname,
        {"bootstrap": BOOTSTRAP},
        runtime="provided.al2023",
        handler="none",
        modes={"bootstrap": 0o755},
        Timeout=5,
    )
    for n in (1, 2):  # the second reuses the warm environment: the loop came round
        response, out = call(lam, fname, {"n": n}, LogType="Tail")
        assert "FunctionError" not in response, out
        assert out == {"http10": {"n": n}, "id": response["ResponseMetadata"]["RequestId"]}
