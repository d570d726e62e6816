"""Reserved concurrency (Put/Get/DeleteFunctionConcurrency): persisted in the store,
enforced by the data plane's Counting Service through the narrow ``ReservationLedger``."""

from __future__ import annotations

from typing import Protocol

from nimbus.control.functions import FunctionService
from nimbus.errors import InvalidParameterValueError
from nimbus.store.concurrency import ReservationRepository


class ReservationLedger(Protocol):
    """What admission control keeps in memory (``dataplane.counting.Counting``)."""

    def reserved(self, name: str) -> int | None: ...

    def check_reservation(self, name: str, requested: int) -> str | None:
        """AWS's message if reserving ``requested`` would break the account's rules."""

    def set_reservation(self, name: str, value: int | None) -> None: ...


class ConcurrencyService:
    def __init__(
        self,
        *,
        repo: ReservationRepository,
        functions: FunctionService,
        ledger: ReservationLedger,
    ) -> None:
        self._repo = repo
        self._functions = functions
        self._ledger = ledger

    async def start(self) -> None:
        for name, reserved in (await self._repo.all()).items():
            self._ledger.set_reservation(name, reserved)

    async def put(self, name: str, reserved: int) -> int:
        await self._functions.get_version(name)  # 404 for an unknown function
        problem = self._ledger.check_reservation(name, reserved)
        if problem is not None:
            raise InvalidParameterValueError(problem)
        await self._repo.put(name, reserved)
        self._ledger.set_reservation(name, reserved)
        return reserved

    async def get(self, name: str) -> int | None:
        await self._functions.get_version(name)
        return self._ledger.reserved(name)

    async def delete(self, name: str) -> None:
        await self._functions.get_version(name)
        await self.forget(name)

    async def on_function_change(self, name: str) -> None:
        """A deleted function's reservation goes with it, returning it to the shared pool."""
        if not await self._functions.exists(name):
            await self.forget(name)

    async def forget(self, name: str) -> None:
        await self._repo.delete(name)
        self._ledger.set_reservation(name, None)
