"""The function network's life: what a server creates on the host goes away when it closes,
what a dead server left is removed by the next one, and a burst of cold starts that finds
the pool empty still gets one distinct, working namespace each."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from nimbus.worker.sandbox.network import FunctionNetwork
from nimbus.worker.sandbox.network_namespace import Netns, NetworkError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


def _bridge_exists(name: str) -> bool:
    return Path(f"/sys/class/net/{name}").exists()


def _table_exists(name: str) -> bool:
    listed = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    return f"table inet {name}" in listed.splitlines()


async def test_closing_removes_the_bridge_and_the_table() -> None:
    network = FunctionNetwork(api_host="127.0.0.1", api_port=9, pool_size=1)
    await network.start()
    block = network.block
    try:
        assert _bridge_exists(block.bridge) and _table_exists(block.table)
        netns = await network.take()
        network.release(netns)
    finally:
        await network.close()
    assert not _bridge_exists(block.bridge)
    assert not _table_exists(block.table)


async def test_a_dead_servers_network_is_removed_by_the_next_server() -> None:
    dead = FunctionNetwork(api_host="127.0.0.1", api_port=9, pool_size=0)
    await dead.start()
    block = dead.block
    ifindex = Path(f"/sys/class/net/{block.bridge}/ifindex").read_text()
    lock = dead._lock  # the only thing a killed server gives back: its flock
    assert lock is not None
    os.close(lock)
    dead._lock = None
    successor = FunctionNetwork(api_host="127.0.0.1", api_port=9, pool_size=0)
    await successor.start()
    try:
        # Whoever holds that block now (the successor, unless another server started in
        # between) has its own bridge there: the dead server's is gone.
        current = Path(f"/sys/class/net/{block.bridge}/ifindex")
        assert not current.exists() or current.read_text() != ifindex
        assert _bridge_exists(successor.block.bridge)
        assert _table_exists(successor.block.table)
    finally:
        await successor.close()
        dead._block = None  # nothing of its own is left to remove
        await dead.close()
    assert not _bridge_exists(successor.block.bridge)


async def test_a_burst_beyond_the_pool_gets_distinct_working_namespaces() -> None:
    network = FunctionNetwork(api_host="127.0.0.1", api_port=9, pool_size=2)
    await network.start()
    try:
        taken = await asyncio.gather(*(network.take() for _ in range(20)))
        assert len({netns.address for netns in taken}) == 20
        assert len({os.fstat(netns.fd).st_ino for netns in taken}) == 20
        last = taken[-1]
        sock = network.listening_socket(last)
        try:
            # The Runtime API socket is inside that namespace: the host's loopback has
            # nothing on 9001 of its making, and the namespace shows it listening.
            out = subprocess.run(
                ["nsenter", f"--net=/proc/{os.getpid()}/fd/{last.fd}", "ss", "-Hltn"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert "127.0.0.1:9001" in out
            route = subprocess.run(
                ["nsenter", f"--net=/proc/{os.getpid()}/fd/{last.fd}", "ip", "route"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            assert f"default via {network.gateway} dev eth0" in route
        finally:
            sock.close()
        for netns in taken:
            network.release(netns)
    finally:
        await network.close()


async def test_an_unexpected_failure_making_namespaces_fails_the_waiting_cold_starts() -> None:
    """The refill task must tell its waiters whatever went wrong: a task that died of an
    unexpected exception would leave cold starts waiting for ever. What they are told is the
    exception's type: an arbitrary message may name the server's paths (``public_reason``;
    the server's log has all of it)."""
    network = FunctionNetwork(api_host="127.0.0.1", api_port=9, pool_size=0)
    await network.start()

    def broken(hosts: list[int], serials: list[int]) -> list[Netns]:
        raise RuntimeError("not an OSError")

    network._make = broken  # type: ignore[method-assign]
    try:
        with pytest.raises(NetworkError, match=r"function network: RuntimeError$"):
            await asyncio.wait_for(network.take(), 10)
    finally:
        await network.close()


async def test_a_cold_start_cancelled_after_getting_its_namespace_releases_it() -> None:
    network = FunctionNetwork(api_host="127.0.0.1", api_port=9, pool_size=0)
    await network.start()
    try:
        netns = await asyncio.wait_for(network.take(), 10)
        network._schedule_refill = lambda: None  # type: ignore[method-assign]
        taking = asyncio.ensure_future(network.take())
        await asyncio.sleep(0)  # it waits now
        network._hand_out(netns)  # its waiter has a result...
        taking.cancel()  # ...and it is cancelled before it resumes
        with pytest.raises(asyncio.CancelledError):
            await taking
        with pytest.raises(OSError):
            os.fstat(netns.fd)  # closed: the kernel removes the namespace
    finally:
        await network.close()
