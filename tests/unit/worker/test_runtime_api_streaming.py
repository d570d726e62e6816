"""Streamed responses on the Runtime API (AWS's "Response streaming for custom runtimes"),
driven over real sockets as a runtime sends them: chunked, with error trailers, and as a
hostile runtime might (endless, oversized, malformed, trailer floods)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator

import pytest_asyncio

from nimbus.model.invocation import InvocationRequest
from nimbus.worker.log_format import MAX_RESPONSE_BYTES
from nimbus.worker.outcome import (
    FunctionFailed,
    Ok,
    ResponseTooLarge,
    RuntimeReply,
    Truncated,
)
from nimbus.worker.response_stream import EndKind, ResponseStream, StreamEnd
from nimbus.worker.runtime_api import RuntimeApi
from nimbus.worker.runtime_limits import MAX_TRAILER_BYTES
from nimbus.worker.runtime_state import RuntimeState

BASE = "/2018-06-01/runtime"
Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def streaming_head(request_id: str, content_type: str = "text/plain") -> bytes:
    return (
        f"POST {BASE}/invocation/{request_id}/response HTTP/1.1\r\nHost: x\r\n"
        "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
        "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
        f"Content-Type: {content_type}\r\n\r\n"
    ).encode()


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def last_chunk(error_type: str = "", error: bytes = b"") -> bytes:
    trailers = b""
    if error_type:
        trailers = (
            f"Lambda-Runtime-Function-Error-Type: {error_type}\r\n".encode()
            + b"Lambda-Runtime-Function-Error-Body: "
            + base64.b64encode(error)
            + b"\r\n"
        )
    return b"0\r\n" + trailers + b"\r\n"


class Harness:
    def __init__(self) -> None:
        self.api = RuntimeApi(
            bind_host="127.0.0.1", expected_uid=None, on_init=lambda _: None, read_timeout_s=0.3
        )
        self.writers: list[asyncio.StreamWriter] = []

    async def connect(self) -> Conn:
        conn = await asyncio.open_connection("127.0.0.1", self.api.port)
        self.writers.append(conn[1])
        return conn

    async def close(self) -> None:
        self.api.close()
        for writer in self.writers:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def invoking(
        self, request_id: str, stream: ResponseStream | None
    ) -> asyncio.Future[RuntimeReply]:
        reply: asyncio.Future[RuntimeReply] = asyncio.get_running_loop().create_future()
        conn = await self.connect()
        conn[1].write(f"GET {BASE}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        while self.api.state is not RuntimeState.READY:
            await asyncio.sleep(0.001)
        request = InvocationRequest(
            request_id=request_id, payload=b"{}", invoked_function_arn="arn", deadline_ms=0
        )
        self.api.dispatch(request, reply, stream)
        await conn[0].readuntil(b"\r\n\r\n")
        return reply


@pytest_asyncio.fixture
async def harness() -> AsyncIterator[Harness]:
    instance = Harness()
    await instance.api.start()
    yield instance
    await instance.close()


async def answer(conn: Conn) -> tuple[int, dict[str, str]]:
    head = (await asyncio.wait_for(conn[0].readuntil(b"\r\n\r\n"), 3)).decode()
    fields = [line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line]
    headers = {k.lower(): v for k, v in fields}
    body = await conn[0].readexactly(int(headers.get("content-length", "0")))
    return int(head.split(" ")[1]), json.loads(body)


async def until(condition: object, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not (condition() if callable(condition) else condition):
            await asyncio.sleep(0.005)


async def test_chunks_reach_the_stream_as_they_are_written(harness: Harness) -> None:
    stream = ResponseStream()
    reply = await harness.invoking("r1", stream)
    conn = await harness.connect()
    conn[1].write(streaming_head("r1", "text/event-stream") + chunk(b"first "))
    # The first chunk is readable while the runtime has not finished its response.
    assert await asyncio.wait_for(stream.read(), 3) == b"first "
    assert stream.content_type == "text/event-stream"
    assert harness.api.state is RuntimeState.STREAMING and not reply.done()
    conn[1].write(chunk(b"second") + last_chunk())
    assert await answer(conn) == (202, {"status": "OK"})
    assert await reply == Ok()
    assert await stream.read() == b"second"
    assert await stream.read() is None
    assert stream.end == StreamEnd(kind=EndKind.COMPLETE)
    assert harness.api.state.value == "Responded"  # free to ask for the next one


async def test_error_trailers_end_the_stream_with_the_error(harness: Harness) -> None:
    stream = ResponseStream()
    reply = await harness.invoking("r2", stream)
    conn = await harness.connect()
    error = b'{"errorType": "Error", "errorMessage": "midway"}'
    conn[1].write(streaming_head("r2") + chunk(b"partial") + last_chunk("Error", error))
    assert (await answer(conn))[0] == 202
    # AWS treats it as a successful response and forwards the error metadata.
    assert await reply == Ok()
    assert stream.end == StreamEnd(error_type="Error", error_body=error)
    assert await stream.read() == b"partial"


async def test_a_buffered_invoke_collects_the_stream(harness: Harness) -> None:
    reply = await harness.invoking("r3", None)
    conn = await harness.connect()
    conn[1].write(streaming_head("r3") + chunk(b"all ") + chunk(b"at once") + last_chunk())
    assert (await answer(conn))[0] == 202
    assert await reply == Ok(body=b"all at once")


async def test_a_buffered_invoke_of_a_failed_stream_is_a_function_error(harness: Harness) -> None:
    reply = await harness.invoking("r4", None)
    conn = await harness.connect()
    error = b'{"errorType": "TypeError", "errorMessage": "x"}'
    conn[1].write(streaming_head("r4") + chunk(b"part") + last_chunk("TypeError", error))
    assert (await answer(conn))[0] == 202
    assert await reply == FunctionFailed(body=error, error_type="TypeError")


async def test_a_buffered_invoke_refuses_a_stream_past_6_mb(harness: Harness) -> None:
    reply = await harness.invoking("r5", None)
    conn = await harness.connect()
    conn[1].write(streaming_head("r5") + chunk(b"x" * (MAX_RESPONSE_BYTES + 1)))
    status, body = await answer(conn)
    assert status == 413 and body["errorType"] == "RequestEntityTooLarge"
    assert await reply == ResponseTooLarge()


async def test_a_stream_past_its_limit_ends_with_the_size_error(harness: Harness) -> None:
    stream = ResponseStream(limit_bytes=1000)
    reply = await harness.invoking("r6", stream)
    conn = await harness.connect()
    conn[1].write(streaming_head("r6") + chunk(b"a" * 600) + chunk(b"b" * 600))
    status, body = await answer(conn)
    assert status == 413
    assert body["errorMessage"] == "Exceeded maximum allowed payload size (1000 bytes)."
    assert await reply == Ok()  # the stream carries the error to the caller
    assert stream.end == StreamEnd(kind=EndKind.TOO_LARGE)
    assert await stream.read() == b"a" * 600 + b"b" * 400  # exactly the limit
    assert harness.api.state is RuntimeState.RESPONDED


async def test_a_lost_connection_cuts_the_stream_short(harness: Harness) -> None:
    stream = ResponseStream()
    reply = await harness.invoking("r7", stream)
    conn = await harness.connect()
    conn[1].write(streaming_head("r7") + chunk(b"half"))
    await until(lambda: stream.total == 4)
    conn[1].transport.abort()
    assert await asyncio.wait_for(reply, 3) == Truncated()
    assert stream.end == StreamEnd(kind=EndKind.TRUNCATED)


async def test_a_malformed_chunk_cuts_the_stream_short(harness: Harness) -> None:
    stream = ResponseStream()
    reply = await harness.invoking("r8", stream)
    conn = await harness.connect()
    conn[1].write(streaming_head("r8") + chunk(b"ok") + b"zz\r\nnot hex\r\n")
    assert (await answer(conn))[0] == 400
    assert await asyncio.wait_for(reply, 3) == Truncated()
    assert stream.end == StreamEnd(kind=EndKind.TRUNCATED)


async def test_a_trailer_flood_is_refused_bounded(harness: Harness) -> None:
    stream = ResponseStream()
    reply = await harness.invoking("r9", stream)
    conn = await harness.connect()
    # A trailer that never ends: httptools would keep it whole; the server answers 431 first.
    flood = b"0\r\nLambda-Runtime-Function-Error-Body: " + b"a" * (2 * MAX_TRAILER_BYTES)
    conn[1].write(streaming_head("r9") + chunk(b"x") + flood)
    status, body = await answer(conn)
    assert status == 431 and "trailers" in body["errorMessage"]
    assert await asyncio.wait_for(reply, 3) == Truncated()
    assert stream.end == StreamEnd(kind=EndKind.TRUNCATED)


async def test_nothing_else_is_accepted_while_streaming(harness: Harness) -> None:
    stream = ResponseStream()
    await harness.invoking("r10", stream)
    conn = await harness.connect()
    conn[1].write(streaming_head("r10") + chunk(b"x"))
    await until(lambda: harness.api.state is RuntimeState.STREAMING)
    other = await harness.connect()
    head = f"POST {BASE}/invocation/r10/error HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    other[1].write(head.encode() + b"\r\n{}")
    status, body = await answer(other)
    assert status == 403 and body["errorType"] == "InvalidStateTransition"
    conn[1].write(last_chunk())
    assert (await answer(conn))[0] == 202


async def test_a_slow_stream_is_not_cut_by_the_read_timeout(harness: Harness) -> None:
    # The harness drops a buffered request unfinished after 0.3 s; a stream is bounded by
    # the function's deadline instead.
    stream = ResponseStream()
    reply = await harness.invoking("r11", stream)
    conn = await harness.connect()
    conn[1].write(streaming_head("r11") + chunk(b"tick "))
    await asyncio.sleep(0.6)
    conn[1].write(chunk(b"tock") + last_chunk())
    assert (await answer(conn))[0] == 202
    assert await reply == Ok()
    assert await stream.read() == b"tick tock"


async def test_a_reader_that_is_behind_stops_the_runtime_being_read(harness: Harness) -> None:
    stream = ResponseStream(high_water=64 * 1024)
    await harness.invoking("r12", stream)
    conn = await harness.connect()
    conn[1].write(streaming_head("r12"))
    piece = chunk(b"z" * 65536)
    written = 0
    with contextlib.suppress(TimeoutError):
        while written < 64 * 1024 * 1024:  # far more than any socket buffers hold
            conn[1].write(piece)
            await asyncio.wait_for(conn[1].drain(), 0.5)
            written += len(piece)
    # The runtime is blocked well before 64 MB, and the server holds about one high-water
    # mark and one read of it, not what the runtime wrote.
    assert written < 64 * 1024 * 1024
    assert stream.total <= 64 * 1024 + 512 * 1024
    got = 0
    while got < 1024 * 1024:  # reading lets the runtime go on
        data = await asyncio.wait_for(stream.read(), 3)
        assert data is not None
        got += len(data)
    open_before = harness.api.connections
    conn[1].transport.abort()
    # The invocation's end reads the connection again, so its loss is seen.
    stream.close()
    await until(lambda: harness.api.connections == open_before - 1)


async def test_an_unknown_response_mode_fails_the_invocation(harness: Harness) -> None:
    reply = await harness.invoking("r13", ResponseStream())
    conn = await harness.connect()
    conn[1].write(
        f"POST {BASE}/invocation/r13/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        "Lambda-Runtime-Function-Response-Mode: bogus\r\n\r\n{}".encode()
    )
    assert await answer(conn) == (
        400,
        {
            "errorMessage": "Invalid function response mode",
            "errorType": "InvalidFunctionResponseMode",
        },
    )
    result = await reply
    assert isinstance(result, FunctionFailed)
    assert result.error_type == "Runtime.InvalidResponseModeHeader"


async def test_a_stream_for_another_request_id_is_refused(harness: Harness) -> None:
    stream = ResponseStream()
    reply = await harness.invoking("r14", stream)
    conn = await harness.connect()
    conn[1].write(streaming_head("someone-else") + chunk(b"x") + last_chunk())
    status, body = await answer(conn)
    assert status == 400 and body["errorType"] == "InvalidRequestID"
    assert not stream.began and not reply.done()
