"""HTTP/1.0 and ``Connection: close`` on the Runtime API, over raw TCP as a minimal runtime
(a bash ``/dev/tcp`` bootstrap, a C runtime) speaks it: each answer, then EOF."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from nimbus.model.invocation import InvocationRequest
from nimbus.worker.outcome import Ok, RuntimeReply
from nimbus.worker.runtime_api import RuntimeApi
from nimbus.worker.runtime_state import RuntimeState

BASE = "/2018-06-01/runtime"
Conn = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest_asyncio.fixture
async def api() -> AsyncIterator[RuntimeApi]:
    instance = RuntimeApi(bind_host="127.0.0.1", expected_uid=None, on_init=lambda _: None)
    await instance.start()
    yield instance
    instance.close()


async def connect(api: RuntimeApi) -> Conn:
    return await asyncio.open_connection("127.0.0.1", api.port)


async def send(conn: Conn, head: str, body: bytes = b"") -> None:
    conn[1].write(head.encode() + b"\r\n" + body)
    await conn[1].drain()


async def read_to_eof(conn: Conn) -> tuple[dict[str, str], bytes, str]:
    """(headers, body, status line) of the one answer on ``conn``, read until the server
    closes it, as ``cat <&3`` does; times out if the server keeps the connection open."""
    raw = await asyncio.wait_for(conn[0].read(), timeout=2)
    conn[1].close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
    assert int(headers["content-length"]) == len(body)
    return headers, body, status


async def read_one(conn: Conn) -> tuple[dict[str, str], bytes]:
    """One answer by its Content-Length, leaving the connection as the server left it."""
    head = await asyncio.wait_for(conn[0].readuntil(b"\r\n\r\n"), timeout=2)
    lines = head.decode().split("\r\n")[1:]
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines if x)}
    return headers, await conn[0].readexactly(int(headers["content-length"]))


async def parked(api: RuntimeApi) -> None:
    for _ in range(2000):
        if api.state is RuntimeState.READY:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("/next was not parked")


def dispatch(api: RuntimeApi, request_id: str) -> asyncio.Future[RuntimeReply]:
    reply: asyncio.Future[RuntimeReply] = asyncio.get_running_loop().create_future()
    api.dispatch(
        InvocationRequest(
            request_id=request_id, payload=b'{"n": 1}', invoked_function_arn="arn", deadline_ms=7
        ),
        reply,
    )
    return reply


async def test_http10_next_and_response_each_end_with_eof(api: RuntimeApi) -> None:
    for request_id in ("r1", "r2"):  # the loop a bash bootstrap runs
        nxt = await connect(api)
        await send(nxt, f"GET {BASE}/invocation/next HTTP/1.0\r\n")
        await parked(api)
        reply = dispatch(api, request_id)
        headers, body, status = await read_to_eof(nxt)
        assert status.startswith("HTTP/1.1 200")
        assert headers["lambda-runtime-aws-request-id"] == request_id
        assert headers["connection"] == "close"
        assert body == b'{"n": 1}'

        post = await connect(api)
        answer = b'{"ok": true}'
        await send(
            post,
            f"POST {BASE}/invocation/{request_id}/response HTTP/1.0\r\n"
            f"Content-Length: {len(answer)}\r\n",
            answer,
        )
        headers, body, status = await read_to_eof(post)
        assert status.startswith("HTTP/1.1 202")
        assert headers["connection"] == "close"
        assert await asyncio.wait_for(reply, 1) == Ok(body=answer)


async def test_connection_close_on_http11_closes_after_the_answer(api: RuntimeApi) -> None:
    nxt = await connect(api)
    await send(nxt, f"GET {BASE}/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n")
    await parked(api)
    reply = dispatch(api, "r1")
    headers, _, _ = await read_to_eof(nxt)
    assert headers["lambda-runtime-aws-request-id"] == "r1"
    post = await connect(api)
    await send(
        post,
        f"POST {BASE}/invocation/r1/response HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        "Content-Length: 2\r\n",
        b"{}",
    )
    _, body, status = await read_to_eof(post)
    assert status.startswith("HTTP/1.1 202") and body == b'{"status": "OK"}'
    assert await asyncio.wait_for(reply, 1) == Ok(body=b"{}")


async def test_http10_keep_alive_keeps_the_connection_and_says_so(api: RuntimeApi) -> None:
    conn = await connect(api)
    await send(conn, f"GET {BASE}/invocation/next HTTP/1.0\r\nConnection: keep-alive\r\n")
    await parked(api)
    reply = dispatch(api, "r1")
    headers, _ = await read_one(conn)
    assert headers["connection"] == "keep-alive"
    # The same connection carries the response post.
    await send(
        conn,
        f"POST {BASE}/invocation/r1/response HTTP/1.0\r\nConnection: keep-alive\r\n"
        "Content-Length: 2\r\n",
        b"{}",
    )
    headers, _ = await read_one(conn)
    assert headers["connection"] == "keep-alive"
    assert await asyncio.wait_for(reply, 1) == Ok(body=b"{}")
    conn[1].close()


async def test_http11_keeps_the_connection_without_a_connection_header(api: RuntimeApi) -> None:
    conn = await connect(api)
    await send(conn, f"GET {BASE}/invocation/next HTTP/1.1\r\nHost: x\r\n")
    await parked(api)
    reply = dispatch(api, "r1")
    headers, _ = await read_one(conn)
    assert "connection" not in headers
    await send(
        conn,
        f"POST {BASE}/invocation/r1/response HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n",
        b"1",
    )
    await read_one(conn)
    assert await asyncio.wait_for(reply, 1) == Ok(body=b"1")
    conn[1].close()
