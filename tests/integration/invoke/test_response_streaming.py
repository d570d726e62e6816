"""End to end: InvokeWithResponseStream through boto3, with Python generator handlers and
Node.js ``awslambda.streamifyResponse`` handlers."""

from __future__ import annotations

import base64
import json
import shutil
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.invoke.helpers import call, deploy

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")

PYTHON_STREAMER = """
import os
import time

def chunks(event):
    mode = event.get("mode")
    if mode == "fail-first":
        raise ValueError("before anything")
    if mode == "http":
        yield {"statusCode": 404, "headers": {"Content-Type": "text/html"}, "cookies": ["c=1"]}
    yield b"first "
    if mode == "bad-item":
        yield 42
    if mode == "slow":
        time.sleep(1.5)
    if mode == "fail":
        raise ValueError("midway")
    if mode == "hang":
        time.sleep(60)
    if mode == "crash":
        os._exit(3)
    if mode == "big":
        for _ in range(8):
            yield b"x" * (1024 * 1024)
    yield "second"

def handler(event, context):
    if event.get("mode") == "buffered":
        return {"whole": True}
    if event.get("mode") == "raise":
        raise KeyError("buffered failure")
    print("streaming", event.get("mode"))
    return chunks(event)
"""


def stream(lam: Any, name: str, payload: Any, **kw: Any) -> tuple[dict[str, Any], list[Any]]:
    """InvokeWithResponseStream; the response and its events, each with when it arrived."""
    response = lam.invoke_with_response_stream(
        FunctionName=name, Payload=json.dumps(payload).encode(), **kw
    )
    events = [(time.monotonic(), event) for event in response["EventStream"]]
    return response, events


def body_of(events: list[Any]) -> bytes:
    return b"".join(e["PayloadChunk"]["Payload"] for _, e in events if "PayloadChunk" in e)


def complete_of(events: list[Any]) -> dict[str, Any]:
    last = events[-1][1]
    assert "InvokeComplete" in last, events
    assert sum("InvokeComplete" in e for _, e in events) == 1
    complete: dict[str, Any] = last["InvokeComplete"]
    return complete


@pytest.fixture(scope="module")
def streamer(lam: Any) -> str:
    name = "response-streaming-py"
    deploy(lam, name, PYTHON_STREAMER, Timeout=3)
    return name


def test_python_chunks_reach_the_client_as_they_are_written(lam: Any, streamer: str) -> None:
    response, events = stream(lam, streamer, {"mode": "slow"}, LogType="Tail")
    assert response["StatusCode"] == 200
    assert response["ExecutedVersion"] == "$LATEST"
    assert response["ResponseStreamContentType"] == "application/octet-stream"
    assert body_of(events) == b"first second"
    first = next(t for t, e in events if e.get("PayloadChunk", {}).get("Payload") == b"first ")
    # The function sleeps 1.5 s after its first write: that write was at the client long
    # before the function ended.
    assert events[-1][0] - first > 0.75
    complete = complete_of(events)
    assert "ErrorCode" not in complete
    log = base64.b64decode(complete["LogResult"]).decode()
    assert "streaming slow" in log and "REPORT RequestId:" in log


def test_a_python_stream_may_pass_the_buffered_6_mb_limit(lam: Any, streamer: str) -> None:
    _, events = stream(lam, streamer, {"mode": "big"})
    assert body_of(events) == b"first " + b"x" * (8 * 1024 * 1024) + b"second"
    assert "ErrorCode" not in complete_of(events)


def test_errors_end_the_stream_with_invoke_complete(lam: Any, streamer: str) -> None:
    _, events = stream(lam, streamer, {"mode": "fail"})
    assert body_of(events) == b"first "  # what was written before the error still arrives
    complete = complete_of(events)
    assert complete["ErrorCode"] == "ValueError"
    assert json.loads(complete["ErrorDetails"])["errorMessage"] == "midway"

    _, events = stream(lam, streamer, {"mode": "fail-first"})
    assert body_of(events) == b""
    assert complete_of(events)["ErrorCode"] == "ValueError"


def test_a_python_dict_first_is_the_http_prelude(lam: Any, streamer: str) -> None:
    response, events = stream(lam, streamer, {"mode": "http"})
    assert response["ResponseStreamContentType"] == (
        "application/vnd.awslambda.http-integration-response"
    )
    prelude, delimiter, body = body_of(events).partition(b"\x00" * 8)
    assert json.loads(prelude) == {
        "statusCode": 404,
        "headers": {"Content-Type": "text/html"},
        "cookies": ["c=1"],
    }
    assert delimiter and body == b"first second"

    _, events = stream(lam, streamer, {"mode": "bad-item"})
    assert body_of(events) == b"first "
    assert complete_of(events)["ErrorCode"] == "Runtime.MarshalError"


def test_a_buffered_function_streams_its_response_as_one_chunk(lam: Any, streamer: str) -> None:
    response, events = stream(lam, streamer, {"mode": "buffered"})
    assert response["ResponseStreamContentType"] == "application/json"
    assert [e for _, e in events[:-1]] == [{"PayloadChunk": {"Payload": b'{"whole": true}'}}]
    assert "ErrorCode" not in complete_of(events)

    _, events = stream(lam, streamer, {"mode": "raise"})
    assert len(events) == 1
    complete = complete_of(events)
    assert complete["ErrorCode"] == "KeyError"
    assert "buffered failure" in json.loads(complete["ErrorDetails"])["errorMessage"]


def test_plain_invoke_of_a_streaming_function_gets_the_whole_body(lam: Any, streamer: str) -> None:
    response = lam.invoke(FunctionName=streamer, Payload=b'{"mode": "plain"}')
    assert "FunctionError" not in response
    assert response["Payload"].read() == b"first second"
    response, out = call(lam, streamer, {"mode": "fail"})
    assert response["FunctionError"] == "Unhandled"
    assert out["errorType"] == "ValueError"


def test_a_timeout_mid_stream_ends_it_with_the_timeout(lam: Any, streamer: str) -> None:
    _, events = stream(lam, streamer, {"mode": "hang"})
    assert body_of(events) == b"first "
    complete = complete_of(events)
    assert complete["ErrorCode"] == "Sandbox.Timedout"
    assert "Task timed out after 3.00 seconds" in complete["ErrorDetails"]
    # The environment that timed out is gone; the next invocation streams normally.
    _, events = stream(lam, streamer, {})
    assert body_of(events) == b"first second"


def test_a_runtime_exiting_mid_stream_is_an_exit_error(lam: Any, streamer: str) -> None:
    _, events = stream(lam, streamer, {"mode": "crash"})
    assert body_of(events) == b"first "
    complete = complete_of(events)
    assert complete["ErrorCode"] == "Runtime.ExitError"
    assert "exit status 3" in complete["ErrorDetails"]


def test_dry_run_and_unknown_functions(lam: Any, streamer: str) -> None:
    response = lam.invoke_with_response_stream(FunctionName=streamer, InvocationType="DryRun")
    assert response["StatusCode"] == 204
    assert list(response["EventStream"]) == []
    with pytest.raises(ClientError) as info:
        lam.invoke_with_response_stream(FunctionName="no-such-function-anywhere")
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"


NODE_STREAMER = """
exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  if (event.http) {
    responseStream = awslambda.HttpResponseStream.from(responseStream, {
      statusCode: 201, headers: { 'X-Kind': 'stream' }, cookies: ['a=1'],
    });
  } else {
    responseStream.setContentType('text/plain');
  }
  responseStream.write('tick ');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  if (event.fail) throw new TypeError('node midway');
  responseStream.write(Buffer.from('tock'));
  responseStream.end();
});
"""


@needs_node
def test_node_streamify_response(lam: Any, fname: str) -> None:
    deploy(lam, fname, NODE_STREAMER, runtime="nodejs20.x", handler="index.handler", Timeout=5)
    response, events = stream(lam, fname, {})
    assert response["ResponseStreamContentType"] == "text/plain"
    assert body_of(events) == b"tick tock"
    first = next(t for t, e in events if "PayloadChunk" in e)
    assert events[-1][0] - first > 0.75
    assert "ErrorCode" not in complete_of(events)

    response, events = stream(lam, fname, {"http": True, "fail": True})
    assert response["ResponseStreamContentType"] == (
        "application/vnd.awslambda.http-integration-response"
    )
    prelude, delimiter, body = body_of(events).partition(b"\x00" * 8)
    assert json.loads(prelude) == {
        "statusCode": 201,
        "headers": {"X-Kind": "stream"},
        "cookies": ["a=1"],
    }
    assert delimiter and body == b"tick "
    complete = complete_of(events)
    assert complete["ErrorCode"] == "TypeError"
    assert json.loads(complete["ErrorDetails"])["errorMessage"] == "node midway"
