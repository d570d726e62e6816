"""Provisioned concurrency: pre-initialised environments for a version or alias.

A config is persisted, then a fill task asks the assignment service for environments until the
requested number exist (status IN_PROGRESS -> READY, or FAILED with the reason). A maintenance
loop replaces provisioned environments that died, as Lambda does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.clock import Clock
from nimbus.control.functions import FunctionService, timestamp
from nimbus.dataplane.assignment import Assignment
from nimbus.dataplane.counting import Counting
from nimbus.dataplane.counting_policy import MIN_UNRESERVED
from nimbus.errors import (
    InvalidParameterValueError,
    NimbusError,
    ProvisionedConcurrencyConfigNotFoundError,
)
from nimbus.model.arn import LATEST
from nimbus.model.function import FunctionConfig
from nimbus.model.invocation import EnvironmentSpec
from nimbus.store.schema import provisioned_concurrency

log = logging.getLogger(__name__)


# (function, qualifier) -> the version configuration the qualifier names
VersionResolver = Callable[[str, str], Awaitable[FunctionConfig]]
SpecBuilder = Callable[[FunctionConfig], Awaitable[EnvironmentSpec]]


@dataclass(frozen=True, kw_only=True)
class ProvisionedView:
    name: str
    qualifier: str
    requested: int
    allocated: int
    available: int
    status: str
    status_reason: str | None
    last_modified: str


def owner_key(name: str, qualifier: str) -> str:
    return f"{name}:{qualifier}"


class ProvisionedService:
    def __init__(
        self,
        *,
        engine: AsyncEngine,
        functions: FunctionService,
        assignment: Assignment,
        counting: Counting,
        resolve: VersionResolver,
        build_spec: SpecBuilder,
        clock: Clock,
    ) -> None:
        self._engine = engine
        self._functions = functions
        self._assignment = assignment
        self._counting = counting
        self._resolve = resolve
        self._build_spec = build_spec
        self._clock = clock
        self._configs: dict[tuple[str, str], tuple[int, str]] = {}  # -> (requested, modified)
        self._failures: dict[tuple[str, str], str] = {}
        self._fills: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None

    async def load(self) -> None:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(sa.select(provisioned_concurrency))).all()
        for row in rows:
            self._configs[(row.name, row.qualifier)] = (int(row.requested), row.last_modified)
        self._loop_task = asyncio.get_running_loop().create_task(self._maintain_forever())

    async def put(self, name: str, qualifier: str, requested: int) -> ProvisionedView:
        await self._check_target(name, qualifier)
        if requested < 1:
            raise InvalidParameterValueError("ProvisionedConcurrentExecutions must be at least 1.")
        others = sum(r for (n, q), (r, _m) in self._configs.items() if n == name and q != qualifier)
        reserved = self._counting.reserved(name)
        if reserved is not None and others + requested > reserved:
            raise InvalidParameterValueError(
                f"Requested Provisioned Concurrency should not be greater than the "
                f"reservedConcurrentExecution [{reserved}] for function {name}."
            )
        if (
            reserved is None
            and others + requested > self._counting.unreserved_limit - MIN_UNRESERVED
        ):
            raise InvalidParameterValueError(
                "Specified ConcurrentExecutions for function is greater than account's "
                "unreserved concurrency."
            )
        modified = timestamp(self._clock.now())
        async with self._engine.begin() as conn:
            await conn.execute(
                provisioned_concurrency.delete().where(
                    provisioned_concurrency.c.name == name,
                    provisioned_concurrency.c.qualifier == qualifier,
                )
            )
            await conn.execute(
                provisioned_concurrency.insert().values(
                    name=name, qualifier=qualifier, requested=requested, last_modified=modified
                )
            )
        key = (name, qualifier)
        self._configs[key] = (requested, modified)
        self._failures.pop(key, None)
        allocated, _ = self._assignment.provisioned_counts(owner_key(name, qualifier))
        if allocated > requested:
            self._assignment.retire_owner(owner_key(name, qualifier), allocated - requested)
        self._ensure_fill(key)
        return self.view(name, qualifier)

    async def get(self, name: str, qualifier: str) -> ProvisionedView:
        await self._functions.get_version(name)
        if (name, qualifier) not in self._configs:
            raise ProvisionedConcurrencyConfigNotFoundError(
                "No Provisioned Concurrency Config found for this function"
            )
        return self.view(name, qualifier)

    async def list(self, name: str) -> list[ProvisionedView]:
        await self._functions.get_version(name)
        return [self.view(n, q) for (n, q) in sorted(self._configs) if n == name]

    async def delete(self, name: str, qualifier: str) -> None:
        await self._functions.get_version(name)
        await self.forget(name, qualifier)

    async def forget(self, name: str, qualifier: str | None = None) -> None:
        keys = [k for k in self._configs if k[0] == name and qualifier in (None, k[1])]
        async with self._engine.begin() as conn:
            query = provisioned_concurrency.delete().where(provisioned_concurrency.c.name == name)
            if qualifier is not None:
                query = query.where(provisioned_concurrency.c.qualifier == qualifier)
            await conn.execute(query)
        for key in keys:
            del self._configs[key]
            task = self._fills.pop(key, None)
            if task is not None:
                task.cancel()
            self._assignment.retire_owner(owner_key(*key))

    def view(self, name: str, qualifier: str) -> ProvisionedView:
        requested, modified = self._configs[(name, qualifier)]
        allocated, available = self._assignment.provisioned_counts(owner_key(name, qualifier))
        failure = self._failures.get((name, qualifier))
        status = "FAILED" if failure else ("READY" if allocated >= requested else "IN_PROGRESS")
        return ProvisionedView(
            name=name,
            qualifier=qualifier,
            requested=requested,
            allocated=allocated,
            available=available,
            status=status,
            status_reason=failure,
            last_modified=modified,
        )

    async def close(self) -> None:
        tasks = [t for t in (self._loop_task, *self._fills.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task

    # --- internals -------------------------------------------------------------------------

    async def _check_target(self, name: str, qualifier: str) -> None:
        await self._functions.get_version(name)
        if qualifier == LATEST:
            raise InvalidParameterValueError(
                "Provisioned Concurrency Configs cannot be applied to unpublished function "
                "versions."
            )
        await self._resolve(name, qualifier)  # 404 for an unknown version or alias

    def _ensure_fill(self, key: tuple[str, str]) -> None:
        running = self._fills.get(key)
        if running is None or running.done():
            self._fills[key] = asyncio.get_running_loop().create_task(self._fill(key))

    async def _fill(self, key: tuple[str, str]) -> None:
        name, qualifier = key
        owner = owner_key(name, qualifier)
        try:
            config = await self._resolve(name, qualifier)
            spec = await self._build_spec(config)
            while key in self._configs:
                allocated, _ = self._assignment.provisioned_counts(owner)
                missing = self._configs[key][0] - allocated
                if missing <= 0:
                    return
                # Several at once, but bounded: a big request must not stall the host.
                batch = min(missing, 8)
                await asyncio.gather(
                    *(self._assignment.add_provisioned(spec, owner) for _ in range(batch))
                )
        except NimbusError as exc:
            self._failures[key] = exc.message
            log.warning("provisioning %s failed: %s", owner, exc.message)
        except Exception as exc:  # keep serving; report FAILED with the reason
            self._failures[key] = f"{type(exc).__name__}: {exc}"
            log.exception("provisioning %s failed", owner)

    async def _maintain_forever(self) -> None:
        for key in list(self._configs):
            self._ensure_fill(key)
        while True:
            await self._clock.sleep(1.0)
            for key in list(self._configs):
                if key not in self._failures:
                    self._ensure_fill(key)
