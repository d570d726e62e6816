"""Function URLs with InvokeMode=RESPONSE_STREAM: the body reaches the client as the function
writes it, with the head its prelude names; a buffered function keeps the buffered mapping."""

from __future__ import annotations

import shutil
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.http.helpers import allow_public, request
from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer

PYTHON_STREAM = """
import time
def handler(event, context):
    yield {"statusCode": 201, "headers": {"Content-Type": "text/plain", "X-Stream": "yes"},
           "cookies": ["s=1"]}
    yield "first\\n"
    time.sleep(1.5)
    yield "second\\n"
"""

NODE_STREAM = """
exports.handler = awslambda.streamifyResponse(async (event, responseStream) => {
  responseStream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 200, headers: {"content-type": "text/plain"}});
  responseStream.write("one\\n");
  await new Promise((r) => setTimeout(r, 1500));
  responseStream.write("two\\n");
  responseStream.end();
});
"""

FAILS_FIRST = """
def handler(event, context):
    raise RuntimeError("before any byte")
    yield b""
"""


def _streaming_url(lam: Any, name: str, source: str, **kw: Any) -> str:
    deploy(lam, name, source, **kw)
    url: str = lam.create_function_url_config(
        FunctionName=name, AuthType="NONE", InvokeMode="RESPONSE_STREAM"
    )["FunctionUrl"]
    allow_public(lam, name)
    return url


def _timed_chunks(
    server: NimbusServer, url: str
) -> tuple[httpx.Response, list[tuple[float, bytes]]]:
    """The response and each body chunk with when it arrived (seconds after the request)."""
    started = time.monotonic()
    chunks: list[tuple[float, bytes]] = []
    host = {"host": urlsplit(url).netloc}
    with (
        httpx.Client(base_url=server.url, timeout=30) as client,
        client.stream("GET", "/", headers=host) as response,
    ):
        for chunk in response.iter_raw():
            chunks.append((time.monotonic() - started, chunk))
    return response, chunks


def test_a_python_stream_arrives_as_written_with_its_prelude_as_the_head(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    url = _streaming_url(lam, fname, PYTHON_STREAM)
    response, chunks = _timed_chunks(server, url)
    assert response.status_code == 201
    assert response.headers["content-type"] == "text/plain"
    assert response.headers["x-stream"] == "yes"
    assert response.headers["set-cookie"] == "s=1"
    assert response.headers.get("transfer-encoding") == "chunked"
    assert b"".join(c for _, c in chunks) == b"first\nsecond\n"
    first_at = next(at for at, c in chunks if c.startswith(b"first"))
    last_at = chunks[-1][0]
    assert last_at - first_at > 0.75  # "first" came well before the function ended


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_a_node_http_response_stream_arrives_as_written(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    url = _streaming_url(lam, fname, NODE_STREAM, runtime="nodejs20.x", handler="index.handler")
    response, chunks = _timed_chunks(server, url)
    assert response.status_code == 200
    assert b"".join(c for _, c in chunks) == b"one\ntwo\n"
    assert chunks[-1][0] - chunks[0][0] > 0.75


def test_a_buffered_function_and_an_early_failure_in_stream_mode(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    url = _streaming_url(
        lam, fname, "def handler(e, c):\n    return {'statusCode': 202, 'body': 'whole'}\n"
    )
    buffered = request(server, url)
    assert (buffered.status_code, buffered.text) == (202, "whole")
    failing = _streaming_url(lam, f"{fname}-fails", FAILS_FIRST)
    assert request(server, failing).status_code == 502
