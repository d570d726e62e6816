"""The send queue to the zygote leaves no write watch behind when its last queued message is
dropped (issue 11 review of f6ce8b3, item 1): a watch left on a socket that is then closed
fires on a dead queue, and breaks the next watch on a reused fd number."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Iterator

import pytest

from nimbus.worker.sandbox.fd_passing import SendQueue


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    ours.setblocking(False)
    theirs.setblocking(False)
    try:
        yield ours, theirs
    finally:
        ours.close()
        theirs.close()


def fill(sock: socket.socket) -> None:
    for _ in range(10_000):
        try:
            sock.send(b"filler" * 100)
        except BlockingIOError:
            return
    raise AssertionError("the socket never filled")


async def test_unqueueing_the_last_message_stops_waiting_to_write(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, _ = pair
    queue = SendQueue()
    queue.attach(ours)
    fill(ours)
    outgoing = queue.send(b"spawn")
    assert outgoing is not None and len(queue) == 1
    queue.unqueue(outgoing)
    queue.attach(None)
    # remove_writer says whether a watch was still registered: none may be.
    assert not asyncio.get_running_loop().remove_writer(ours.fileno())


async def test_unqueueing_one_of_two_keeps_waiting_for_the_other(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, _ = pair
    queue = SendQueue()
    queue.attach(ours)
    fill(ours)
    first, second = queue.send(b"one"), queue.send(b"two")
    queue.unqueue(first)
    assert len(queue) == 1 and second is not None
    loop = asyncio.get_running_loop()
    assert loop.remove_writer(ours.fileno())  # still registered, for "two"
    queue.attach(None)


async def test_a_message_dropped_by_a_failed_flush_tells_its_sender(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    ours, theirs = pair
    queue = SendQueue()
    queue.attach(ours)
    fill(ours)
    heard: list[OSError | None] = []
    assert queue.send(b"spawn", on_drop=heard.append) is not None
    theirs.close()  # the peer dies: the socket is writable, and the send fails (EPIPE)
    for _ in range(100):  # bounded: the loop runs the flush once it sees the socket
        if heard:
            break
        await asyncio.sleep(0)
    assert len(heard) == 1 and heard[0] is not None
    assert heard[0].errno in (errno.EPIPE, errno.ECONNRESET)
    assert len(queue) == 0
    assert not asyncio.get_running_loop().remove_writer(ours.fileno())
