"""The in-memory hand-over between accepting async events and running them.

``EventService.accept`` commits an event and, while this node has room, hands it over here
already claimed (no claim query needed); otherwise it pokes the poller to claim from the store.
The inbox is its own object so the accepting side and the poller pool can be built apart: the
poller's destinations (topics, functions) accept events themselves, so accepting cannot depend
on the poller.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Iterable

from nimbus.model.async_event import AsyncEvent


class EventInbox:
    def __init__(self, *, capacity: int, lease_s: float, node_id: str | None = None) -> None:
        self.capacity = max(1, capacity)
        self.lease_s = lease_s
        self.node_id = node_id or f"node-{uuid.uuid4()}"
        self.ready: deque[AsyncEvent] = deque()
        self.in_flight = 0  # kept by the poller: events it is running now
        self._reserved = 0
        self.dispatch_wake = asyncio.Event()
        self.claim_wake = asyncio.Event()

    def room(self) -> int:
        """How many more events this node may hold in memory (ready, running or promised)."""
        return self.capacity - len(self.ready) - self.in_flight - self._reserved

    # --- the accepting side ----------------------------------------------------------------

    def reserve(self) -> bool:
        """Room for one more event in memory? If so it is counted until ``push``."""
        if self.room() <= 0:
            return False
        self._reserved += 1
        return True

    def unreserve(self) -> None:
        self._reserved -= 1

    def push(self, event: AsyncEvent) -> None:
        """An event this node already claimed (and committed)."""
        self._reserved -= 1
        self.ready.append(event)
        self.dispatch_wake.set()

    def poke(self) -> None:
        """There are unclaimed events in the store."""
        self.claim_wake.set()

    # --- the poller's side -----------------------------------------------------------------

    def add_claimed(self, events: Iterable[AsyncEvent]) -> None:
        before = len(self.ready)
        self.ready.extend(events)
        if len(self.ready) > before:
            self.dispatch_wake.set()
