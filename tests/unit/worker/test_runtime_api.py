"""The Runtime API's size limits, driven over a real socket as a runtime would."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest_asyncio

from nimbus.model.invocation import InvocationRequest
from nimbus.worker.log_format import MAX_RESPONSE_BYTES
from nimbus.worker.outcome import FunctionFailed, Ok, RuntimeReply
from nimbus.worker.runtime_api import RuntimeApi
from nimbus.worker.runtime_limits import MAX_ERROR_BYTES, body_limit

BASE = "/2018-06-01/runtime"


class Harness:
    def __init__(self) -> None:
        self.inits: list[Ok | FunctionFailed] = []
        self.api = RuntimeApi(bind_host="127.0.0.1", expected_uid=None, on_init=self.inits.append)

    async def call(
        self, method: str, path: str, body: bytes = b"", error_type: str = ""
    ) -> tuple[int, bytes]:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.api.port)
        head = f"{method} {BASE}{path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        if error_type:
            head += f"Lambda-Runtime-Function-Error-Type: {error_type}\r\n"
        writer.write(head.encode() + b"\r\n" + body)
        try:
            await writer.drain()
            head_raw = await reader.readuntil(b"\r\n\r\n")
            lines = head_raw.decode().split("\r\n")
            length = next(
                int(line.split(":", 1)[1])
                for line in lines
                if line.lower().startswith("content-length")
            )
            return int(lines[0].split(" ", 2)[1]), await reader.readexactly(length)
        finally:
            writer.close()
            await writer.wait_closed()

    async def invoking(self, request_id: str) -> asyncio.Future[RuntimeReply]:
        """Park a /next, hand it an invocation, and return the future its answer settles."""
        reply: asyncio.Future[RuntimeReply] = asyncio.get_running_loop().create_future()
        parked = asyncio.ensure_future(self.call("GET", "/invocation/next"))
        while self.api.state.value != "Ready":
            await asyncio.sleep(0.001)
        self.api.dispatch(
            InvocationRequest(
                request_id=request_id, payload=b"{}", invoked_function_arn="arn", deadline_ms=0
            ),
            reply,
        )
        status, _ = await parked
        assert status == 200
        return reply


@pytest_asyncio.fixture
async def harness() -> AsyncIterator[Harness]:
    instance = Harness()
    await instance.api.start()
    yield instance
    instance.api.close()


def test_error_posts_are_capped_lower_than_responses() -> None:
    assert body_limit(b"/2018-06-01/runtime/invocation/r/error") == MAX_ERROR_BYTES
    assert body_limit(b"/2018-06-01/runtime/init/error?x=1") == MAX_ERROR_BYTES
    assert body_limit(b"/2018-06-01/runtime/invocation/r/response") == MAX_RESPONSE_BYTES


async def test_error_at_the_limit_is_accepted(harness: Harness) -> None:
    reply = await harness.invoking("r1")
    error = b"x" * MAX_ERROR_BYTES
    status, _ = await harness.call("POST", "/invocation/r1/error", error, "Big.Error")
    assert status == 202
    assert await reply == FunctionFailed(body=error, error_type="Big.Error")


async def test_oversized_error_is_refused_and_ends_the_invocation(harness: Harness) -> None:
    reply = await harness.invoking("r2")
    error = b"x" * (MAX_ERROR_BYTES + 1)
    status, answer = await harness.call("POST", "/invocation/r2/error", error, "Big.Error")
    assert status == 413
    assert json.loads(answer) == {
        "errorMessage": f"Exceeded maximum allowed payload size ({MAX_ERROR_BYTES} bytes).",
        "errorType": "RequestEntityTooLarge",
    }
    # The caller still learns the function failed, and how; the oversized body is dropped.
    assert await reply == FunctionFailed(body=b"", error_type="Big.Error")
    # The runtime may ask for the next invocation as after any answer.
    assert harness.api.state.value == "Responded"


async def test_response_above_the_error_limit_is_fine(harness: Harness) -> None:
    reply = await harness.invoking("r3")
    response = b'"' + b"y" * (MAX_ERROR_BYTES * 2) + b'"'
    status, _ = await harness.call("POST", "/invocation/r3/response", response)
    assert status == 202
    assert await reply == Ok(body=response)


async def test_oversized_init_error_is_refused_but_fails_init(harness: Harness) -> None:
    error = b"z" * (MAX_ERROR_BYTES + 10)
    status, _ = await harness.call("POST", "/init/error", error, "Runtime.ImportModuleError")
    assert status == 413
    assert harness.inits == [FunctionFailed(body=b"", error_type="Runtime.ImportModuleError")]


async def test_first_next_reports_init_ok(harness: Harness) -> None:
    await harness.invoking("r4")
    assert harness.inits == [Ok()]
