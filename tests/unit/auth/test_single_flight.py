"""Callers of a key whose fetch is under way share it, its failure included; a waiter that
gives up does not cancel the others' fetch; a finished fetch is not reused."""

from __future__ import annotations

import asyncio

import pytest

from nimbus.auth.single_flight import SingleFlight


async def test_concurrent_callers_share_one_fetch_and_a_later_one_fetches_again() -> None:
    flights: SingleFlight[str, int] = SingleFlight()
    calls = 0
    release = asyncio.Event()

    async def fetch() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return calls

    waiters = [asyncio.ensure_future(flights.run("k", fetch)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiters) == [1] * 5
    assert await flights.run("k", fetch) == 2


async def test_a_failure_reaches_every_waiter() -> None:
    flights: SingleFlight[str, int] = SingleFlight()

    async def fetch() -> int:
        await asyncio.sleep(0)
        raise OSError("store down")

    results = await asyncio.gather(
        *(flights.run("k", fetch) for _ in range(3)), return_exceptions=True
    )
    assert [type(r) for r in results] == [OSError] * 3


async def test_one_waiter_cancelled_leaves_the_fetch_to_the_others() -> None:
    flights: SingleFlight[str, str] = SingleFlight()
    release = asyncio.Event()

    async def fetch() -> str:
        await release.wait()
        return "done"

    gone = asyncio.ensure_future(flights.run("k", fetch))
    stays = asyncio.ensure_future(flights.run("k", fetch))
    await asyncio.sleep(0)
    gone.cancel()
    release.set()
    assert await stays == "done"
    with pytest.raises(asyncio.CancelledError):
        await gone
