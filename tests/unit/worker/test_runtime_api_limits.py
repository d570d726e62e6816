"""Every read of the Runtime API is bounded: a hostile runtime can make it buffer at most a
few MB, however long its URL, headers or requests, and however many connections it opens.
Driven over real sockets, as a runtime would."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import pytest_asyncio

from nimbus.worker.runtime_api import RuntimeApi
from nimbus.worker.runtime_limits import (
    BUFFER_BUDGET,
    MAX_CONNECTIONS,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    MAX_URL_BYTES,
)
from nimbus.worker.runtime_state import RuntimeState

BASE = "/2018-06-01/runtime"
Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest_asyncio.fixture
async def api() -> AsyncIterator[RuntimeApi]:
    instance = RuntimeApi(
        bind_host="127.0.0.1", expected_uid=None, on_init=lambda _: None, read_timeout_s=0.3
    )
    await instance.start()
    yield instance
    instance.close()


async def connect(api: RuntimeApi) -> Conn:
    return await asyncio.open_connection("127.0.0.1", api.port)


async def answer(conn: Conn) -> tuple[int, dict[str, str], bytes]:
    """Read to EOF (the server must close): status, headers and body of its one answer."""
    raw = await asyncio.wait_for(conn[0].read(), timeout=3)
    conn[1].close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    return int(status.split(" ")[1]), headers, body


async def stream_until_closed(conn: Conn, head: bytes, chunk: bytes, most: int) -> int:
    """Send ``head`` then ``chunk`` repeatedly until the server stops reading (or ``most``
    bytes went): how many bytes were written."""
    writer = conn[1]
    writer.write(head)
    sent = len(head)
    try:
        while sent < most:
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), timeout=3)
            sent += len(chunk)
    except (ConnectionError, TimeoutError):
        pass
    writer.close()
    return sent


async def still_serves(api: RuntimeApi) -> None:
    """A well-behaved runtime's /next still parks on a fresh connection."""
    conn = await connect(api)
    conn[1].write(f"GET {BASE}/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await conn[1].drain()
    for _ in range(2000):
        if api.state is RuntimeState.READY:
            break
        await asyncio.sleep(0.001)
    assert api.state is RuntimeState.READY
    conn[1].close()
    await conn[1].wait_closed()


async def test_a_url_over_the_limit_is_answered_414_and_closed(api: RuntimeApi) -> None:
    conn = await connect(api)
    path = BASE + "/invocation/" + "x" * MAX_URL_BYTES
    conn[1].write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    status, headers, body = await answer(conn)
    assert status == 414
    assert headers["connection"] == "close"
    assert json.loads(body)["errorType"] == "RequestURITooLong"
    assert api.buffered == 0
    await still_serves(api)


async def test_a_url_of_150_mb_is_cut_off_after_a_few_mb(api: RuntimeApi) -> None:
    conn = await connect(api)
    sent = await stream_until_closed(conn, b"GET /" + b"a" * 1024, b"a" * 65536, 150 << 20)
    # What the server read is bounded (the rest is in socket buffers or never sent).
    assert sent < 32 << 20
    assert api.buffered == 0
    await still_serves(api)


async def test_a_huge_header_is_answered_431_before_it_ends(api: RuntimeApi) -> None:
    conn = await connect(api)
    head = f"GET {BASE}/invocation/next HTTP/1.1\r\nX-Big: ".encode()
    conn[1].write(head + b"v" * (2 << 20))  # the header never ends
    status, _, body = await answer(conn)
    assert status == 431
    assert json.loads(body)["errorType"] == "RequestHeaderFieldsTooLarge"
    assert api.buffered == 0
    await still_serves(api)


async def test_an_endless_header_is_cut_off_after_a_few_mb(api: RuntimeApi) -> None:
    conn = await connect(api)
    head = f"GET {BASE}/invocation/next HTTP/1.1\r\nX-Big: ".encode()
    sent = await stream_until_closed(conn, head, b"v" * 65536, 150 << 20)
    assert sent < 32 << 20
    assert api.buffered == 0
    await still_serves(api)


async def test_a_head_just_under_the_limit_is_served(api: RuntimeApi) -> None:
    conn = await connect(api)
    big = "v" * (MAX_HEAD_BYTES - 4096)  # an X-Ray error cause a runtime may send
    conn[1].write(
        f"POST {BASE}/init/error HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        f"Lambda-Runtime-Function-XRay-Error-Cause: {big}\r\n\r\n{{}}".encode()
    )
    head = await asyncio.wait_for(conn[0].readuntil(b"\r\n\r\n"), timeout=3)
    assert head.startswith(b"HTTP/1.1 202")
    conn[1].close()


async def test_too_many_headers_are_answered_431(api: RuntimeApi) -> None:
    conn = await connect(api)
    many = "".join(f"X-H{i}: v\r\n" for i in range(MAX_HEADERS + 1))
    conn[1].write(f"GET {BASE}/invocation/next HTTP/1.1\r\n{many}\r\n".encode())
    status, _, body = await answer(conn)
    assert status == 431
    assert str(MAX_HEADERS) in json.loads(body)["errorMessage"]
    assert api.state is RuntimeState.STARTED  # the request was never handled


async def test_connections_beyond_the_limit_are_closed_at_once(api: RuntimeApi) -> None:
    held = [await connect(api) for _ in range(MAX_CONNECTIONS)]
    for _ in range(200):  # accepted asynchronously
        if api.connections == MAX_CONNECTIONS:
            break
        await asyncio.sleep(0.005)
    assert api.connections == MAX_CONNECTIONS
    extra = [await connect(api) for _ in range(50)]
    for conn in extra:
        assert await asyncio.wait_for(conn[0].read(), timeout=3) == b""  # closed, unanswered
    assert api.connections == MAX_CONNECTIONS
    held.pop()[1].close()
    for _ in range(200):
        if api.connections < MAX_CONNECTIONS:
            break
        await asyncio.sleep(0.005)
    await still_serves(api)
    for conn in held + extra:
        conn[1].close()


async def test_a_request_that_never_ends_is_dropped_with_its_buffer(api: RuntimeApi) -> None:
    conn = await connect(api)
    conn[1].write(
        f"POST {BASE}/init/error HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".encode()
        + b"x" * 50_000
    )
    await conn[1].drain()
    for _ in range(200):
        if api.buffered:
            break
        await asyncio.sleep(0.005)
    assert api.buffered == 50_000
    # read_timeout_s is 0.3 here: the connection is dropped, and what it held released.
    assert await asyncio.wait_for(conn[0].read(), timeout=3) == b""
    conn[1].close()
    assert api.buffered == 0
    assert api.state is RuntimeState.STARTED


async def test_all_connections_together_buffer_at_most_the_budget(api: RuntimeApi) -> None:
    conns = [await connect(api) for _ in range(MAX_CONNECTIONS)]
    head = f"POST {BASE}/init/error HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n"
    peak = 0
    for conn in conns:
        conn[1].write(head.encode() + b"x" * 999_000)  # each just under the error limit
        with contextlib.suppress(ConnectionError):
            await conn[1].drain()
        await asyncio.sleep(0.02)
        peak = max(peak, api.buffered)
    assert peak <= BUFFER_BUDGET
    dropped = 0
    for conn in conns:
        try:
            if await asyncio.wait_for(conn[0].read(), timeout=3) == b"":
                dropped += 1
        except ConnectionError:
            dropped += 1
        conn[1].close()
    assert dropped == MAX_CONNECTIONS  # over the budget at once, the rest at the timeout
    assert api.buffered == 0
