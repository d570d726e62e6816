"""What ``ZygoteClient.spawn`` sends: the log pipe, the config memfd, the network namespace and
the /tmp mount as fds of the message itself (SCM_RIGHTS), kept open by the send queue until
sent, whatever the caller closes meanwhile (issue 11 review, S2), and nothing left behind
when the cold start gives up or the zygote is gone (C2).

The zygote's end of the socket is played by the test: it receives exactly what a zygote
would. Any descriptors stand in for the namespace and the mount (the client never looks).
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import socket
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest

from nimbus.worker.sandbox.config import SandboxConfig
from nimbus.worker.sandbox.zygote import ZygoteClient
from nimbus.worker.sandbox.zygote_policy import ZygoteLost

SECRET = "s3cr3t-of-env-1"


def config() -> SandboxConfig:
    return SandboxConfig(
        env_id="env-1", isolation="namespaces", environ={"DB_PASSWORD": SECRET}, workdir="/"
    )


def open_fds() -> Counter[tuple[int, int]]:
    """How many descriptors this process holds of each open file (device, inode). A
    descriptor the code under test leaks — a new file, or one more copy of a file the test
    holds (a dup of the netns or /tmp fd) — is a count that grew, whatever an unrelated
    test's garbage closes meanwhile in the same worker process (a plain total of
    descriptors is thrown off by that)."""
    held: Counter[tuple[int, int]] = Counter()
    for name in os.listdir("/proc/self/fd"):
        try:
            held[identity(int(name))] += 1
        except OSError:
            continue  # the listing's own descriptor, gone by now
    return held


def identity(fd: int) -> tuple[int, int]:
    stat = os.fstat(fd)
    return stat.st_dev, stat.st_ino


@dataclass
class Caller:
    """The fds a sandbox hands to spawn: a log pipe, and stand-ins for its namespace and
    its /tmp mount."""

    log: int
    netns: int
    tmp: int
    others: tuple[int, ...]
    closed: bool = False

    def close(self) -> None:
        """Once only: a number closed twice may meanwhile be someone else's fd."""
        if not self.closed:
            self.closed = True
            for fd in (self.log, self.netns, self.tmp, *self.others):
                os.close(fd)


@pytest.fixture
def caller() -> Iterator[Caller]:
    log_r, log_w = os.pipe()
    netns_r, netns_w = os.pipe()
    tmp = os.memfd_create("stand-in-for-a-mount", os.MFD_CLOEXEC)
    fds = Caller(log=log_w, netns=netns_r, tmp=tmp, others=(log_r, netns_w))
    try:
        yield fds
    finally:
        fds.close()


@pytest.fixture
async def client() -> AsyncIterator[tuple[ZygoteClient, socket.socket]]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    # Small buffers, so that a few messages fill them and the send queue is used.
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setblocking(False)
    zygote = ZygoteClient(python=sys.executable)
    zygote._attach(ours)
    zygote._closed = True  # there is no zygote process: nothing to restart when it "dies"
    assert zygote._hello is not None
    zygote._hello.set_result({"op": "hello"})
    zygote._confirmed = True  # what _launch does once the hello is in
    try:
        yield zygote, theirs
    finally:
        zygote._drop_socket()
        theirs.close()


async def receive(sock: socket.socket) -> tuple[bytes, list[int]]:
    """The next message at the zygote's end, with its fds (waits up to 5 s)."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    loop.add_reader(sock.fileno(), ready.set)
    try:
        await asyncio.wait_for(ready.wait(), 5)
    finally:
        loop.remove_reader(sock.fileno())
    data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
    return data, fds


def fill(zygote: ZygoteClient) -> int:
    """Fill the socket towards the zygote; how many filler messages it took."""
    assert zygote._sock is not None
    for count in range(10_000):
        try:
            zygote._sock.send(b"filler" * 100)
        except BlockingIOError:
            return count
    raise AssertionError("the socket never filled")


async def queued(zygote: ZygoteClient) -> None:
    for _ in range(100):  # bounded: spawn queues its message on its first step
        if len(zygote._outbox):
            return
        await asyncio.sleep(0)
    raise AssertionError("the spawn request was never queued")


def check_spawn(data: bytes, fds: list[int], want: list[tuple[int, int]]) -> None:
    header = json.loads(data)
    assert header == {"op": "spawn", "env": "env-1", "stem": None, "isolation": "namespaces"}
    assert SECRET.encode() not in data  # the zygote acts on the header, never the config
    assert len(fds) == 4
    log, config_fd, netns, tmp = fds
    assert [identity(log), identity(netns), identity(tmp)] == want
    sent = SandboxConfig.from_fd(config_fd)
    assert sent.netns and sent.tmp_disk and sent.environ == {"DB_PASSWORD": SECRET}
    assert sent.passed_fds(fds[2:]) == (netns, tmp)


async def test_the_namespace_and_the_mount_travel_as_fds_of_the_message(
    client: tuple[ZygoteClient, socket.socket], caller: Caller
) -> None:
    zygote, theirs = client
    want = [identity(caller.log), identity(caller.netns), identity(caller.tmp)]
    before = open_fds()
    spawn = asyncio.ensure_future(
        zygote.spawn(config(), caller.log, netns_fd=caller.netns, tmp_fd=caller.tmp)
    )
    data, fds = await receive(theirs)
    try:
        check_spawn(data, fds, want)
    finally:
        for fd in fds:
            os.close(fd)
    theirs.send(json.dumps({"op": "spawned", "env": "env-1", "pid": 4242}).encode())
    assert await asyncio.wait_for(spawn, 5) == 4242
    assert open_fds() - before == Counter()  # the client's copies are closed once sent
    assert zygote._spawns == {}


async def test_a_queued_request_keeps_its_fds_when_the_caller_closes_them(
    client: tuple[ZygoteClient, socket.socket], caller: Caller
) -> None:
    zygote, theirs = client
    want = [identity(caller.log), identity(caller.netns), identity(caller.tmp)]
    fillers = fill(zygote)
    spawn = asyncio.ensure_future(
        zygote.spawn(config(), caller.log, netns_fd=caller.netns, tmp_fd=caller.tmp)
    )
    await queued(zygote)
    # A released sandbox closes its fds; their numbers go to something else meanwhile.
    caller.close()
    reused = [os.open("/dev/null", os.O_RDONLY) for _ in range(3)]
    try:
        for _ in range(fillers):
            data, fds = await receive(theirs)
            assert data.startswith(b"filler") and fds == []
        data, fds = await receive(theirs)  # sent once the zygote read the rest
        try:
            check_spawn(data, fds, want)
        finally:
            for fd in fds:
                os.close(fd)
    finally:
        for fd in reused:
            os.close(fd)
        spawn.cancel()


async def test_a_cold_start_cancelled_while_queued_sends_nothing_and_keeps_nothing(
    client: tuple[ZygoteClient, socket.socket], caller: Caller
) -> None:
    zygote, theirs = client
    fillers = fill(zygote)
    before = open_fds()
    spawn = asyncio.ensure_future(
        zygote.spawn(config(), caller.log, netns_fd=caller.netns, tmp_fd=caller.tmp)
    )
    await queued(zygote)
    spawn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await spawn
    assert open_fds() - before == Counter()
    assert len(zygote._outbox) == 0 and zygote._spawns == {}
    for _ in range(fillers):
        data, _ = await receive(theirs)
        assert data.startswith(b"filler")
    with pytest.raises(BlockingIOError):  # no late launch of a sandbox nobody awaits
        theirs.recv(1 << 16)


async def test_a_sandbox_spawned_after_its_cold_start_gave_up_is_killed(
    client: tuple[ZygoteClient, socket.socket], caller: Caller
) -> None:
    zygote, theirs = client
    spawn = asyncio.ensure_future(zygote.spawn(config(), caller.log))
    _, fds = await receive(theirs)
    for fd in fds:
        os.close(fd)
    spawn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await spawn
    theirs.send(json.dumps({"op": "spawned", "env": "env-1", "pid": 4242}).encode())
    data, _ = await receive(theirs)
    assert json.loads(data) == {"op": "kill", "pid": 4242}
    # Its exit report is swallowed, not kept for the next runtime that gets pid 4242.
    theirs.send(json.dumps({"op": "exit", "pid": 4242, "status": -9}).encode())
    await processed(zygote)
    heard: list[int] = []
    zygote.on_exit(4242, heard.append)
    assert heard == [] and zygote._early_exits == {}


async def processed(zygote: ZygoteClient) -> None:
    """Until the client read everything sent to it (a unix socket's send is in the peer's
    queue once it returns, and the client reads until the queue is empty)."""
    assert zygote._sock is not None
    for _ in range(500):  # bounded: it reads once the loop sees the socket readable
        if not select.select([zygote._sock], [], [], 0)[0]:
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the client never read its socket")


async def test_a_cold_start_waiting_on_a_dropped_zygote_fails(
    client: tuple[ZygoteClient, socket.socket], caller: Caller
) -> None:
    zygote, theirs = client
    spawn = asyncio.ensure_future(zygote.spawn(config(), caller.log))
    _, fds = await receive(theirs)
    for fd in fds:
        os.close(fd)
    zygote._drop_socket()  # e.g. a send that failed; nothing would ever answer it
    with pytest.raises(ZygoteLost):
        await asyncio.wait_for(spawn, 5)


async def test_a_cold_start_waits_for_the_hello_and_fails_without_it(caller: Caller) -> None:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    theirs.setblocking(False)
    zygote = ZygoteClient(python=sys.executable)
    # A start attempt in progress: the socket attached, the hello not in yet.
    launching: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    zygote._launching = launching
    zygote._attach(ours)
    try:
        assert not zygote.running
        spawn = asyncio.ensure_future(zygote.spawn(config(), caller.log))
        for _ in range(20):
            await asyncio.sleep(0)
        assert not spawn.done()
        with pytest.raises(BlockingIOError):  # nothing goes to an unconfirmed zygote
            theirs.recv(1 << 16)
        zygote._drop_socket()  # the hello timed out
        zygote._launching = None
        launching.set_result(None)
        with pytest.raises(ZygoteLost, match="failed to start"):
            await asyncio.wait_for(spawn, 5)
    finally:
        zygote._closed = True
        zygote._drop_socket()
        theirs.close()


async def test_a_send_to_a_dead_zygote_leaks_neither_fds_nor_a_waiting_spawn(
    client: tuple[ZygoteClient, socket.socket], caller: Caller
) -> None:
    zygote, theirs = client
    theirs.close()  # the zygote died; its EOF is not read yet
    before = open_fds()
    with pytest.raises(ZygoteLost, match="unreachable"):
        await zygote.spawn(config(), caller.log, netns_fd=caller.netns, tmp_fd=caller.tmp)
    assert open_fds() - before == Counter()  # the config memfd (the function's secrets) included
    assert zygote._spawns == {}
