"""EventBridge's event buses: the ``default`` bus, always there, and the custom ones a user
creates. Buses are few and read on every PutEvents, so all are held in memory, loaded at
start; each write is committed before it is answered.

AWS's answers (LocalStack's AWS-validated snapshots): a second bus of one name is
ResourceAlreadyExistsException "Event bus <name> already exists."; a custom bus's name has no
"/" (ValidationException "Event bus name must not contain '/'.": that is for partner buses,
which Nimbus does not have); an unknown one
ResourceNotFoundException "Event bus <name> does not exist."; the default bus cannot be
deleted ("Cannot delete event bus default.", ValidationException); deleting a bus that does
not exist succeeds. Deleting a bus deletes its rules and their targets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nimbus.clock import Clock
from nimbus.errors import (
    EventsResourceNotFoundError,
    EventsValidationError,
    LimitExceededError,
    ResourceAlreadyExistsError,
)
from nimbus.model.eventbridge import DEFAULT_BUS, EventBus, bus_arn
from nimbus.store.eventbridge import EventBridgeRepository

# AWS's default quota of event buses per account and region (the default one included).
MAX_BUSES = 100
BusDeleted = Callable[[str], Awaitable[None]]


class BusService:
    def __init__(
        self, *, repo: EventBridgeRepository, clock: Clock, region: str, account: str
    ) -> None:
        self._repo = repo
        self._clock = clock
        self.region = region
        self.account = account
        self._buses: dict[str, EventBus] = {}
        self._on_delete: list[BusDeleted] = []

    async def load(self, buses: list[EventBus]) -> None:
        """Hold ``buses`` (the store's); the default bus is written the first time."""
        self._buses = {bus.name: bus for bus in buses}
        if DEFAULT_BUS not in self._buses:
            now = self._clock.now()
            default = EventBus(name=DEFAULT_BUS, created_at=now, modified_at=now)
            await self._repo.put_bus(default)
            self._buses[DEFAULT_BUS] = default

    def on_delete(self, listener: BusDeleted) -> None:
        """``listener(name)`` runs after a bus is deleted (its rules go with it)."""
        self._on_delete.append(listener)

    def arn(self, name: str) -> str:
        return bus_arn(self.region, self.account, name)

    def exists(self, name: str) -> bool:
        return name in self._buses

    def get(self, name: str) -> EventBus:
        found = self._buses.get(name)
        if found is None:
            raise EventsResourceNotFoundError(f"Event bus {name} does not exist.")
        return found

    async def create(self, name: str, description: str | None) -> EventBus:
        if name in self._buses:
            raise ResourceAlreadyExistsError(f"Event bus {name} already exists.")
        if "/" in name:
            # botocore's pattern allows "/" for partner buses (aws.partner/...), which are
            # made from a partner event source, not by CreateEventBus alone; AWS refuses it
            # in a custom bus's name, in these words.
            raise EventsValidationError("Event bus name must not contain '/'.")
        if len(self._buses) >= MAX_BUSES:
            raise LimitExceededError("The requested resource exceeds the maximum number allowed.")
        now = self._clock.now()
        bus = EventBus(name=name, description=description, created_at=now, modified_at=now)
        await self._repo.put_bus(bus)
        self._buses[name] = bus
        return bus

    async def delete(self, name: str) -> None:
        if name == DEFAULT_BUS:
            raise EventsValidationError("Cannot delete event bus default.")
        if name not in self._buses:
            return
        await self._repo.delete_bus(name)
        del self._buses[name]
        for listener in self._on_delete:
            await listener(name)

    def list_buses(self, prefix: str = "") -> list[EventBus]:
        """Buses whose name starts with ``prefix``, by name."""
        return sorted(
            (b for b in self._buses.values() if b.name.startswith(prefix)), key=lambda b: b.name
        )
