"""Stopping the event source mappings' pollers (SQS and RabbitMQ): a pause a stop cuts short
(their back-off must not hold a disable, a delete or the node's shutdown for up to a minute),
and the graceful close both sources share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Protocol

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
