"""Stopping the event source mappings' pollers (SQS and RabbitMQ): a pause a stop cuts short
(their back-off must not hold a disable, a delete or the node's shutdown for up to a minute),
the bookkeeping of each source's running and stopping workers, and the graceful close both
sources share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Generic, Protocol, TypeVar

from nimbus.clock import Clock


class Stoppable(Protocol):
    def stop(self) -> None:
        """Take no new batch; finish (settle) the one being invoked."""

    async def stopped(self) -> None:
        """Return once the batch being invoked is settled."""

    async def close(self) -> None:
        """Cancel whatever is left."""


async def close_gracefully(workers: Sequence[Stoppable], grace_s: float) -> None:
    """Stop ``workers``, let the batches they are invoking finish and be settled (a success
    deleted or acked) for up to ``grace_s``, then cancel what is left: a graceful restart
    delivers no batch twice that had succeeded; only batches cut short come back."""
    for worker in workers:
        worker.stop()
    if workers:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*(w.stopped() for w in workers)), grace_s)
    for worker in workers:
        await worker.close()


async def pause(clock: Clock, seconds: float, stopping: asyncio.Event) -> None:
    """Sleep ``seconds`` on ``clock``, or until ``stopping`` is set, whichever comes first."""
    if seconds <= 0 or stopping.is_set():
        return
    stop = asyncio.ensure_future(stopping.wait())
    sleep = asyncio.ensure_future(clock.sleep(seconds))
    try:
        await asyncio.wait({stop, sleep}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.cancel()
        sleep.cancel()


W = TypeVar("W", bound=Stoppable)


class Workers(Generic[W]):
    """One source's workers by mapping UUID: those running, and those stopped but still
    settling the batch they were invoking (which ``close`` waits for too)."""

    def __init__(self) -> None:
        self._running: dict[str, W] = {}
        self._stopping: set[W] = set()

    def get(self, uuid: str) -> W | None:
        return self._running.get(uuid)

    def __contains__(self, uuid: str) -> bool:
        return uuid in self._running

    def add(self, uuid: str, worker: W) -> None:
        self._running[uuid] = worker

    def stop(self, uuid: str, *, when_stopped: Callable[[W], None] | None = None) -> W | None:
        """Stop the mapping's worker, if it has one (returned); ``when_stopped`` is told
        once its last batch is settled."""
        worker = self._running.pop(uuid, None)
        if worker is None:
            return None
        worker.stop()
        self._stopping.add(worker)

        def done(_task: asyncio.Future[None]) -> None:
            self._stopping.discard(worker)
            if when_stopped is not None:
                when_stopped(worker)

        asyncio.ensure_future(worker.stopped()).add_done_callback(done)
        return worker

    async def close(self, grace_s: float) -> None:
        workers = [*self._running.values(), *self._stopping]
        self._running.clear()
        await close_gracefully(workers, grace_s)
