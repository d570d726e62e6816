"""At most one fetch per key at a time (pure asyncio): callers asking for a key whose fetch is
under way wait for that fetch instead of starting their own.

The caches in front of the store (``auth.authorizer``'s policies, ``iam.directory``'s keys)
expire every second; without this, a burst that finds an entry expired — 500 concurrent
invokes — queues one store read per request on the connection pool."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    def __init__(self) -> None:
        self._pending: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, fetch: Callable[[], Awaitable[V]]) -> V:
        """``fetch()``'s result, sharing a fetch of ``key`` already under way; its exception
        reaches every waiter."""
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(fetch())
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        # Shielded: one waiter's cancellation (a client gone) must not cancel the others' fetch.
        return await asyncio.shield(pending)
